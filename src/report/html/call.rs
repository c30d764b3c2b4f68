//! One call's page: its numbers, its audio, its timeline (who spoke when on
//! the call's clock, overlaps, barge-ins, bot audio the caller never heard,
//! long silences, function calls, latency between turns, the transcript
//! entries where they were logged), its transcript and its findings. Built
//! from the call's report rows only, so `merge` writes the same page a run
//! does.

use maud::{html, Markup, PreEscaped};

use super::chart::num;
use super::{document, CallRows, Seg};
use crate::report::CallRecord;

/// Seconds of call per timeline row when a call wraps (see row_seconds).
const MAX_ROW_S: f64 = 60.0;
/// Pixels per row of timeline.
const ROW_W: f64 = 900.0;
const LEFT: f64 = 56.0;
/// The lanes of a row: their names, tops and heights (SVG units).
const LANES: [(&str, f64, f64); 4] = [
    ("caller", 4.0, 20.0),
    ("bot", 30.0, 20.0),
    ("events", 56.0, 14.0),
    ("said", 74.0, 10.0),
];
const ROW_H: f64 = 108.0;
/// Where a row's time axis is.
const AXIS: f64 = 88.0;

/// Seconds per row: a call under a minute and a half fills one row
/// (rounded up to 5 s); longer ones wrap every minute.
fn row_seconds(length: f64) -> f64 {
    if length > 1.5 * MAX_ROW_S {
        MAX_ROW_S
    } else {
        ((length / 5.0).ceil() * 5.0).max(5.0)
    }
}

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// The lane a kind of segment is drawn in, and its class; None for the
/// kinds the picture leaves to `segments.csv` (interruptions are the
/// overlaps' starts).
fn lane_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "caller_speech" | "barge_in" | "backchannel" | "unanswered_turn" => "caller",
        "bot_speech" | "bot_unplayed" | "early_start" | "playback_uncertain" => "bot",
        "overlap" | "silence" | "tool_wait" => "events",
        _ => return None,
    })
}

/// Kinds drawn as outlines over the speech they mark.
fn is_outline(kind: &str) -> bool {
    matches!(
        kind,
        "barge_in" | "backchannel" | "early_start" | "playback_uncertain" | "unanswered_turn"
    )
}

fn lane(name: &str) -> (f64, f64) {
    LANES
        .iter()
        .find(|l| l.0 == name)
        .map_or((0.0, 10.0), |l| (l.1, l.2))
}

fn label(kind: &str) -> &str {
    match kind {
        "caller_speech" => "caller speech",
        "bot_speech" => "bot speech",
        "bot_unplayed" => "bot audio never played",
        "barge_in" => "barge-in (onset to the bot yielding)",
        "backchannel" => "backchannel",
        "unanswered_turn" => "unanswered turn",
        "early_start" => "early start",
        "playback_uncertain" => "end of playback uncertain (bounds)",
        "overlap" => "overlap",
        "silence" => "silence",
        "tool_wait" => "waiting on a function call",
        "function_call" => "function call",
        other => other,
    }
}

/// The longest call a page draws (12 hours: 720 rows). Past it, a page
/// would grow with a number someone wrote, not with the call.
const MAX_DRAWN_S: f64 = 12.0 * 3600.0;

/// How much of the call the timeline draws: as long as its audio (what
/// the analyzers heard), else as its metadata says, never more than
/// [`MAX_DRAWN_S`]. A timestamp in the JSON files (a function call a year
/// late, a `duration_seconds` of 1e308) never stretches the page: marks
/// outside it are left out, and say so.
fn drawn_length(duration: Option<f64>, segments: &[Seg]) -> f64 {
    let heard = segments
        .iter()
        .filter(|s| s.kind != "function_call")
        .map(|s| s.end)
        .filter(|e| e.is_finite())
        .fold(0.0, f64::max);
    let length = if heard > 0.0 {
        heard
    } else {
        duration.filter(|d| d.is_finite()).unwrap_or(0.0)
    };
    length.clamp(0.0, MAX_DRAWN_S)
}

/// How many instants (function calls, transcript entries) fall off it.
fn off_timeline(c: &CallRows, length: f64) -> usize {
    let calls = c
        .segments
        .iter()
        .filter(|s| s.kind == "function_call" && !on_timeline(s.start, length))
        .count();
    let said = c
        .utterances
        .iter()
        .filter_map(|u| u.at)
        .filter(|t| !on_timeline(*t, length))
        .count();
    calls + said
}

/// Whether a time is on the drawn timeline.
fn on_timeline(t: f64, length: f64) -> bool {
    (0.0..=length.max(1.0)).contains(&t)
}

/// x of call time `t` within row `row`, at `span` seconds a row.
fn x_of(t: f64, row: usize, span: f64) -> f64 {
    LEFT + (t - row as f64 * span) / span * ROW_W
}

/// The rows a time span covers, with the part in each.
fn pieces(start: f64, end: f64, span: f64) -> Vec<(usize, f64, f64)> {
    let first = (start / span).floor().max(0.0) as usize;
    let last = ((end / span).ceil() as usize).max(first + 1);
    (first..last)
        .filter_map(|r| {
            let (lo, hi) = (r as f64 * span, (r + 1) as f64 * span);
            let (a, b) = (start.max(lo), end.min(hi));
            (b > a || (start == end && r == first)).then_some((r, a, b))
        })
        .collect()
}

/// One segment: a group (its class says the kind, so a page's segments can
/// be counted) of one rectangle per timeline row it crosses.
fn segment(s: &Seg, span: f64, length: f64) -> Markup {
    let Some(lane_name) = lane_of(&s.kind) else {
        return html! {};
    };
    let (start, end) = (s.start.max(0.0), s.end.min(length.max(span)));
    if start
        .partial_cmp(&end)
        .is_none_or(std::cmp::Ordering::is_gt)
    {
        return html! {};
    }
    let (top, h) = lane(lane_name);
    html! {
        g class={"seg " (s.kind)} data-start=(num(s.start)) data-end=(num(s.end)) {
            title { (label(&s.kind)) ": " (num(s.start)) "–" (num(s.end)) " s (" (num(s.end - s.start)) " s)" }
            @for (row, a, b) in pieces(start, end, span) {
                rect x=(px(x_of(a, row, span))) y=(px(row as f64 * ROW_H + top)) width=(px(((b - a) / span * ROW_W).max(1.0))) height=(px(h)) {}
            }
        }
    }
}

/// The timeline, wrapped at a minute a row.
fn timeline(c: &CallRows, length: f64, silence_min: f64) -> Markup {
    let span = row_seconds(length);
    let rows = ((length / span).ceil() as usize).max(1);
    let height = rows as f64 * ROW_H;
    // Marks that are instants: function calls, and the transcript entries.
    let instant = |t: f64| {
        let row = ((t / span).floor().max(0.0) as usize).min(rows - 1);
        (row, x_of(t, row, span))
    };
    let ticks = super::chart::ticks(0.0, span);
    html! {
        svg.timeline viewBox={"0 0 " (px(LEFT + ROW_W + 24.0)) " " (px(height))} role="img" aria-label="Timeline of the call, one row per minute" {
            @for row in 0..rows {
                @let y0 = row as f64 * ROW_H;
                @for (name, top, h) in LANES {
                    rect.lane x=(px(LEFT)) y=(px(y0 + top)) width=(px(ROW_W)) height=(px(h)) {}
                    text.lane x=(px(LEFT - 4.0)) y=(px(y0 + top + h - 3.0)) text-anchor="end" { (name) }
                }
                line.axis x1=(px(LEFT)) y1=(px(y0 + AXIS)) x2=(px(LEFT + ROW_W)) y2=(px(y0 + AXIS)) {}
                @for tick in &ticks {
                    @let t = row as f64 * span + tick;
                    line.tick x1=(px(x_of(t, row, span))) y1=(px(y0 + AXIS)) x2=(px(x_of(t, row, span))) y2=(px(y0 + AXIS + 4.0)) {}
                    text.tick x=(px(x_of(t, row, span))) y=(px(y0 + AXIS + 15.0)) text-anchor="middle" { (num(t)) " s" }
                }
            }
            // Filled kinds first, outlines over them.
            @for outline in [false, true] {
                @for s in c.segments.iter().filter(|s| is_outline(&s.kind) == outline && (s.kind != "silence" || s.end - s.start >= silence_min)) {
                    (segment(s, span, length))
                }
            }
            @for f in c.segments.iter().filter(|s| s.kind == "function_call" && on_timeline(s.start, length)) {
                @let (row, x) = instant(f.start);
                g.seg.function_call data-start=(num(f.start)) {
                    title { "function call at " (num(f.start)) " s" }
                    line x1=(px(x)) y1=(px(row as f64 * ROW_H + 2.0)) x2=(px(x)) y2=(px(row as f64 * ROW_H + 70.0)) {}
                    circle cx=(px(x)) cy=(px(row as f64 * ROW_H + 63.0)) r="3.5" {}
                }
            }
            @for (caller_end, bot_start, latency) in c.latencies.iter().filter(|l| on_timeline(l.0, length) && on_timeline(l.1, length)) {
                @let (row, x) = instant(*caller_end);
                @let x2 = x + (bot_start - caller_end) / span * ROW_W;
                @let y = row as f64 * ROW_H + 27.0;
                g.latency data-latency=(num(*latency)) {
                    title { "audio latency " (num(*latency)) " s" }
                    line x1=(px(x)) y1=(px(y)) x2=(px(x2)) y2=(px(y)) {}
                    line x1=(px(x)) y1=(px(y - 2.5)) x2=(px(x)) y2=(px(y + 2.5)) {}
                    line x1=(px(x2)) y1=(px(y - 2.5)) x2=(px(x2)) y2=(px(y + 2.5)) {}
                }
            }
            @for u in &c.utterances {
                @if let Some(at) = u.at.filter(|t| on_timeline(*t, length)) {
                    @let (row, x) = instant(at);
                    @let (top, h) = lane("said");
                    g class={"said " (u.party)} data-at=(num(at)) {
                        title { (num(at)) " s, " (u.party) ": " (u.text) }
                        @if let Some(d) = u.duration {
                            @let x0 = (x - d / span * ROW_W).max(LEFT);
                            rect x=(px(x0)) y=(px(row as f64 * ROW_H + top + 3.0)) width=(px((x - x0).max(1.0))) height="4" {}
                        }
                        rect x=(px(x - 1.0)) y=(px(row as f64 * ROW_H + top)) width="2" height=(px(h)) {}
                    }
                }
            }
        }
    }
}

/// The legend: every kind drawn, with its swatch.
fn legend() -> Markup {
    let kinds = [
        "caller_speech",
        "bot_speech",
        "bot_unplayed",
        "overlap",
        "barge_in",
        "backchannel",
        "early_start",
        "playback_uncertain",
        "unanswered_turn",
        "silence",
        "tool_wait",
        "function_call",
    ];
    html! {
        ul.legend {
            @for k in kinds {
                li { svg.swatch viewBox="0 0 16 10" aria-hidden="true" { g class={"seg " (k)} { rect x="0" y="0" width="16" height="10" {} } } " " (label(k)) }
            }
            li { svg.swatch viewBox="0 0 16 10" aria-hidden="true" { g.latency { line x1="0" y1="5" x2="16" y2="5" {} } } " audio latency (caller's end to the bot's speech)" }
            li { svg.swatch viewBox="0 0 16 10" aria-hidden="true" { g.said.caller { rect x="7" y="0" width="2" height="10" {} } } " transcript entry logged (caller)" }
            li { svg.swatch viewBox="0 0 16 10" aria-hidden="true" { g.said.bot { rect x="7" y="0" width="2" height="10" {} } } " transcript entry logged (bot)" }
        }
    }
}

/// The patterns the timeline fills with (print and colour-blind readers
/// tell the kinds apart by them, not by colour alone).
pub fn patterns() -> Markup {
    html! {
        svg.defs width="0" height="0" aria-hidden="true" {
            defs {
                pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                    rect width="6" height="6" fill="#fff" {}
                    line x1="0" y1="0" x2="0" y2="6" stroke="#e69f00" stroke-width="3" {}
                }
                pattern id="dots" width="5" height="5" patternUnits="userSpaceOnUse" {
                    circle cx="2.5" cy="2.5" r="1" fill="#777" {}
                }
            }
        }
    }
}

/// Seek buttons play the audio from a transcript entry.
const SEEK_JS: &str = r#"document.addEventListener('click',function(e){var b=e.target.closest('[data-seek]');var a=document.getElementById('audio');if(!b||!a)return;a.currentTime=Math.max(0,parseFloat(b.dataset.seek));a.play();});"#;

/// The page's audio player: the only part of a page that depends on the
/// store as it is now (which stereo file there is) and on where the page
/// lies, not on the call's report rows alone. Each of its three forms
/// holds markup no escaped text can, so `merge` can tell from it whether a
/// part's page is the one it would draw.
pub fn audio_section(audio: &Option<(String, bool)>) -> Markup {
    html! {
        section {
            h2 { "Audio" }
            @match audio {
                Some((href, true)) => { audio #audio controls preload="none" src=(href) {} p.note { "The aligned stereo file: caller left, bot right, on the call's clock." } }
                Some((href, false)) => { audio #audio controls preload="none" src=(href) {} p.note { "The final stereo file, in which the bot's speech is bunched at the start; " code { "callscope repair --aligned" } " writes one on the call's clock." } }
                None => { p.note { "No stereo file of this call is reachable from the report." } }
            }
        }
    }
}

/// The call's page. `back`: the overview's address from the page, when
/// the page is part of a report; `audio`: the aligned stereo file's (or,
/// failing it, the final stereo file's) address and whether it is aligned.
pub fn page(
    r: &CallRecord,
    c: &CallRows,
    back: Option<&str>,
    audio: Option<(String, bool)>,
    silence_min: f64,
) -> String {
    let cell = |k: &str| {
        r.cell(k)
            .map(crate::analyze::Cell::to_csv)
            .unwrap_or_default()
    };
    let length = drawn_length(cell("duration_s").parse().ok(), &c.segments);
    let facts: [(&str, String, &str); 12] = [
        ("Start (UTC)", cell("start_time"), ""),
        ("Duration", cell("duration_s"), "s"),
        ("State", cell("state"), ""),
        ("Status", cell("status"), ""),
        ("Caller talk", cell("speech_caller_talk_s"), "s"),
        ("Bot talk", cell("speech_bot_talk_s"), "s"),
        ("Overlap", cell("speech_overlap_s"), "s"),
        ("Audio latency, mean", cell("rt_audio_mean_s"), "s"),
        ("Audio latency, p90", cell("rt_audio_p90_s"), "s"),
        ("First response", cell("speech_first_response_s"), "s"),
        ("Barge-ins", cell("speech_barge_ins"), ""),
        ("Intents", cell("intents_intents"), ""),
    ];
    let body = html! {
                (patterns())
                @if let Some(b) = back {
                    nav { a href=(b) { "← all calls" } }
                }
                h1 { (r.recording) }
                dl.facts {
                    @for (name, v, unit) in &facts {
                        div { dt { (name) } dd { @if v.is_empty() { "—" } @else { (v) @if !unit.is_empty() { " " (unit) } } } }
                    }
                }
                (audio_section(&audio))
                section {
                    h2 { "Timeline" }
                    @if c.segments.is_empty() {
                        p.note { "No timeline: the speech analyzer has no segments for this call (see the findings)." }
                    } @else {
                        div.scroll { (timeline(c, length, silence_min)) }
                        @let off = off_timeline(c, length);
                        @if off > 0 {
                            p.note { (off) " mark(s) from the JSON files lie outside the call's " (num(length)) " s and are not drawn: their timestamps are not the call's." }
                        }
                        (legend())
                        p.note { "Silences shown are those of at least " (num(silence_min)) " s. Times are on the caller track's clock; transcript entries are placed where the recorder logged them (the end of the utterance)." }
                    }
                }
                section {
                    h2 { "Transcript" }
                    @if c.utterances.is_empty() {
                        p.note { "No transcript entries." }
                    } @else {
                        p.note { "Card numbers, phone numbers and e-mail addresses are masked." }
                        table.transcript {
                            thead { tr { th { "at (s)" } th { "party" } th { "text" } } }
                            tbody {
                                @for u in &c.utterances {
                                    tr class=(u.party) {
                                        td.num {
                                            @match u.at {
                                                Some(at) => { button type="button" data-seek=(num((at - u.duration.unwrap_or(0.0)).max(0.0))) title="play from here" { (num(at)) } }
                                                None => { "—" }
                                            }
                                        }
                                        td { (u.party) }
                                        td { (u.text) }
                                    }
                                }
                            }
                        }
                    }
                }
                section {
                    h2 { "Findings" }
                    @if r.findings.is_empty() {
                        p.note { "None." }
                    } @else {
                        table.findings {
                            thead { tr { th { "severity" } th { "code" } th { "file" } th { "message" } } }
                            tbody {
                                @for f in &r.findings {
                                    tr class=(f.severity.as_str()) { td { (f.severity.as_str()) } td { code { (f.code) } } td { (f.file.as_deref().unwrap_or("")) } td { (f.message) } }
                                }
                            }
                        }
                    }
                }
                script { (PreEscaped(SEEK_JS)) }
    };
    document(&format!("callscope: {}", r.recording), body)
}
