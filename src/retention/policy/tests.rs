use super::*;

fn p(text: &str) -> Result<Policy, String> {
    parse(text, Path::new("policy.toml"))
}

const DEFAULT: &str = "[[rule]]\nname = \"default\"\ndefault = true\naction = \"keep\"\n";

#[test]
fn periods() {
    use Period::*;
    for (text, want) in [
        ("48h", Hours(48)),
        ("90d", Days(90)),
        ("12w", Days(84)),
        ("6mo", Months(6)),
        ("6months", Months(6)),
        ("1 month", Months(1)),
        ("7y", Months(84)),
        ("P90D", Days(90)),
        ("P12W", Days(84)),
        ("P6M", Months(6)),
        ("P7Y", Months(84)),
        ("PT48H", Hours(48)),
        ("P1Y6M", Months(18)),
        ("2 weeks", Days(14)),
    ] {
        assert_eq!(parse_period(text), Ok(want), "{text}");
    }
    for bad in [
        "soon", "10x", "30", "d", "P", "PT5D", "-3d", "P3.5D", "P5ʛ", "PTʛ", "PT90M", "P1DT12H",
    ] {
        assert!(parse_period(bad).is_err(), "{bad}");
    }
    let e = parse_period("6m").unwrap_err();
    assert!(e.contains("minutes") && e.contains("6mo"), "{e}");
    for huge in ["99999999999999d", "10001y", "4294967295w", "120001mo"] {
        let e = parse_period(huge).unwrap_err();
        assert!(e.contains("out of range"), "{huge}: {e}");
    }
    assert!(parse_period("10000y").is_ok());
    // The limit in every unit, exactly: 10,000 years of 366 days.
    for (most, over) in [
        ("3660000d", "3660001d"),
        ("87840000h", "87840001h"),
        ("120000mo", "120001mo"),
    ] {
        assert!(parse_period(most).is_ok(), "{most}");
        assert!(parse_period(over).is_err(), "{over}");
    }
}

#[test]
fn periods_are_calendar_periods() {
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let call = t("2024-01-15T10:00:00Z");
    // A year is to the anniversary, not 365 days (2024 is a leap year).
    assert_eq!(
        parse_period("1y").unwrap().after(call),
        Some(t("2025-01-15T10:00:00Z"))
    );
    assert_eq!(
        parse_period("1mo")
            .unwrap()
            .after(t("2024-01-31T00:00:00Z")),
        Some(t("2024-02-29T00:00:00Z"))
    );
    assert_eq!(
        parse_period("P6M").unwrap().after(call),
        Some(t("2024-07-15T10:00:00Z"))
    );
    let pol = p(&format!(
        "[[rule]]\nname = \"year\"\nolder_than = \"1y\"\naction = \"delete\"\n\n{DEFAULT}"
    ))
    .unwrap();
    let facts = Facts {
        start: Some(call),
        intents: &[],
        functions: &[],
        state: State::Complete,
        status: Status::Ok,
        session_id: "s",
    };
    assert_eq!(
        pol.decide(&facts, t("2025-01-14T10:00:00Z")).name,
        "default"
    );
    assert_eq!(
        pol.decide(&facts, t("2025-01-15T09:59:59Z")).name,
        "default"
    );
    assert_eq!(pol.decide(&facts, t("2025-01-15T10:00:00Z")).name, "year");
    // A due date past the calendar's end is never reached.
    let far = p(&format!(
        "[[rule]]\nolder_than = \"10000y\"\naction = \"delete\"\n\n{DEFAULT}"
    ))
    .unwrap();
    let late = Facts {
        start: Some(t("+262000-01-01T00:00:00Z")),
        ..facts
    };
    assert_eq!(
        far.decide(&late, t("+262100-01-01T00:00:00Z")).name,
        "default"
    );
}

#[test]
fn a_good_policy_and_first_match_wins() {
    let pol = p(&format!(
        "[[rule]]\nname = \"old\"\nolder_than = \"30d\"\naction = \"delete\"\n\n{DEFAULT}"
    ))
    .unwrap();
    let now: DateTime<Utc> = "2025-01-31T00:00:00Z".parse().unwrap();
    let facts = |start: &str| Facts {
        start: Some(start.parse().unwrap()),
        intents: &[],
        functions: &[],
        state: State::Complete,
        status: Status::Ok,
        session_id: "s",
    };
    assert_eq!(pol.decide(&facts("2024-12-01T00:00:00Z"), now).name, "old");
    assert_eq!(
        pol.decide(&facts("2025-01-15T00:00:00Z"), now).name,
        "default"
    );
}

#[test]
fn bad_policies_name_the_line() {
    let e = p(&format!("[[rule]]\naction = \"shred\"\n\n{DEFAULT}")).unwrap_err();
    assert!(
        e.starts_with("policy.toml: line 2, column 10: unknown action \"shred\""),
        "{e}"
    );
    let e = p(&format!(
        "[[rule]]\nolder_than = \"a while\"\naction = \"delete\"\n{DEFAULT}"
    ))
    .unwrap_err();
    assert!(e.contains("line 2") && e.contains("not a period"), "{e}");
    let e = p(&format!(
        "[[rule]]\nolder_than = \"99999999999999d\"\naction = \"delete\"\n{DEFAULT}"
    ))
    .unwrap_err();
    assert!(
        e.contains("line 2, column 14") && e.contains("out of range"),
        "{e}"
    );
    let e = p("[[rule]]\naction = \"delete\"\n").unwrap_err();
    assert!(e.contains("the last rule must be the default"), "{e}");
    // A default rule with any one condition would not be a default.
    for condition in [
        "older_than = \"1d\"",
        "intents = [\"lost_card\"]",
        "functions = [\"transfer_to_agent\"]",
        "state = \"crashed\"",
        "status = \"error\"",
        "session = \"abc*\"",
    ] {
        let e = p(&format!(
            "[[rule]]\nname = \"default\"\ndefault = true\n{condition}\naction = \"keep\"\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("the default rule cannot have conditions"),
            "{condition}: {e}"
        );
    }
    let e = p(&format!(
        "{DEFAULT}\n[[rule]]\nolder_than = \"1d\"\naction = \"delete\"\n"
    ))
    .unwrap_err();
    assert!(e.contains("the default rule must be the last rule"), "{e}");
    let e = p("[[rule]]\naction = \"keep\"\ncolour = \"red\"\n").unwrap_err();
    assert!(e.contains("line 3") && e.contains("colour"), "{e}");
    let e = p(&format!(
        "[[rule]]\naction = \"archive\"\nolder_than = \"1y\"\n{DEFAULT}"
    ))
    .unwrap_err();
    assert!(e.contains("archive_root"), "{e}");
    let e = p("[[rule\n").unwrap_err();
    assert!(e.starts_with("policy.toml: line 1"), "{e}");
}
