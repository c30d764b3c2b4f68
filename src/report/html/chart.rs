//! The overview's charts, drawn as inline SVG: a histogram with marked
//! percentiles, horizontal bars, and points per day. Each chart is a
//! `<figure>` with a title, axes with units, a `<title>` tooltip on every
//! mark, and the same numbers in a table for screen readers and print.
//! Coordinates are printed with one decimal, so the bytes depend only on
//! the numbers.

use maud::{html, Markup};

/// The drawing area of every chart, in SVG units.
const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

fn px(v: f64) -> String {
    format!("{v:.1}")
}

/// A figure's number as text: up to three decimals, no trailing zeros.
pub fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Tick values from `lo` to `hi`: steps of 1, 2 or 5 times a power of ten,
/// about five of them.
pub fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A figure with its title, its SVG, and its numbers in a table.
fn figure(id: &str, title: &str, svg: Markup, table: Markup) -> Markup {
    html! {
        figure.chart id=(id) {
            figcaption id={(id) "-title"} { (title) }
            svg viewBox={"0 0 " (W) " " (H)} role="img" aria-labelledby={(id) "-title"} {
                (svg)
            }
            details {
                summary { "The numbers" }
                (table)
            }
        }
    }
}

/// The empty-chart note, for a measure no call has.
fn empty(id: &str, title: &str, why: &str) -> Markup {
    html! {
        figure.chart.empty id=(id) {
            figcaption { (title) }
            p.note { (why) }
        }
    }
}

/// The x axis: a line, ticks, their labels and the axis' name with unit.
fn x_axis(lo: f64, hi: f64, x: &dyn Fn(f64) -> f64, label: &str) -> Markup {
    html! {
        line.axis x1=(px(LEFT)) y1=(px(H - BOTTOM)) x2=(px(W - RIGHT)) y2=(px(H - BOTTOM)) {}
        @for t in ticks(lo, hi) {
            line.tick x1=(px(x(t))) y1=(px(H - BOTTOM)) x2=(px(x(t))) y2=(px(H - BOTTOM + 4.0)) {}
            text.tick x=(px(x(t))) y=(px(H - BOTTOM + 15.0)) text-anchor="middle" { (num(t)) }
        }
        text.label x=(px((LEFT + W - RIGHT) / 2.0)) y=(px(H - 4.0)) text-anchor="middle" { (label) }
    }
}

/// The y axis of counts (or another quantity), with its name.
fn y_axis(max: f64, y: &dyn Fn(f64) -> f64, label: &str) -> Markup {
    html! {
        line.axis x1=(px(LEFT)) y1=(px(TOP)) x2=(px(LEFT)) y2=(px(H - BOTTOM)) {}
        @for t in ticks(0.0, max) {
            line.grid x1=(px(LEFT)) y1=(px(y(t))) x2=(px(W - RIGHT)) y2=(px(y(t))) {}
            text.tick x=(px(LEFT - 6.0)) y=(px(y(t) + 4.0)) text-anchor="end" { (num(t)) }
        }
        text.label transform={"translate(14 " (px((TOP + H - BOTTOM) / 2.0)) ") rotate(-90)"} text-anchor="middle" { (label) }
    }
}

/// A histogram of `values` (in `unit`) with vertical lines at `marks`
/// (p50, p90…). `lo_zero`: the axis starts at 0 unless a value is below.
pub fn histogram(
    id: &str,
    title: &str,
    (axis, counted): (&str, &str),
    values: &[f64],
    marks: &[(&str, f64)],
) -> Markup {
    if values.is_empty() {
        return empty(id, title, "No call has this measure.");
    }
    let lo = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    // Bins on the tick grid, so their edges read off the axis.
    let edges = ticks(lo, hi);
    let step = if edges.len() > 1 {
        (edges[1] - edges[0]) / 4.0
    } else {
        (hi - lo) / 20.0
    };
    let start = (lo / step).floor() * step;
    let n = (((hi - start) / step).floor() as usize + 1).max(1);
    let mut counts = vec![0usize; n];
    for v in values {
        let i = (((v - start) / step).floor().max(0.0) as usize).min(n - 1);
        counts[i] += 1;
    }
    let end = start + step * n as f64;
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let x = |v: f64| LEFT + (v - start) / (end - start) * (W - LEFT - RIGHT);
    let y = |c: f64| H - BOTTOM - c / max * (H - TOP - BOTTOM);
    let svg = html! {
        (y_axis(max, &y, counted))
        @for (i, c) in counts.iter().enumerate() {
            @let (a, b) = (start + step * i as f64, start + step * (i + 1) as f64);
            @if *c > 0 {
                rect.bar x=(px(x(a) + 0.5)) y=(px(y(*c as f64))) width=(px((x(b) - x(a) - 1.0).max(0.5))) height=(px(H - BOTTOM - y(*c as f64))) {
                    title { (num(a)) " to " (num(b)) ": " (c) }
                }
            }
        }
        @for (i, (name, v)) in marks.iter().enumerate() {
            line.mark x1=(px(x(*v))) y1=(px(TOP)) x2=(px(x(*v))) y2=(px(H - BOTTOM)) {
                title { (name) " " (num(*v)) }
            }
            // Staggered, so close percentiles keep legible labels.
            @let right = x(*v) > LEFT + 0.7 * (W - LEFT - RIGHT);
            text.mark x=(px(if right { x(*v) - 3.0 } else { x(*v) + 3.0 })) y=(px(TOP + 10.0 + 12.0 * i as f64)) text-anchor=(if right { "end" } else { "start" }) { (name) " " (num(*v)) }
        }
        (x_axis(start, end, &x, axis))
    };
    let table = html! {
        table {
            thead { tr { th { "from" } th { "to" } th { (counted) } } }
            tbody {
                @for (i, c) in counts.iter().enumerate() {
                    tr { td { (num(start + step * i as f64)) } td { (num(start + step * (i + 1) as f64)) } td { (c) } }
                }
            }
            @if !marks.is_empty() {
                tfoot {
                    @for (name, v) in marks {
                        tr { th { (name) } td colspan="2" { (num(*v)) } }
                    }
                }
            }
        }
    };
    figure(id, title, svg, table)
}

/// Horizontal bars: one per (label, value), in the order given.
pub fn bars(id: &str, title: &str, axis: &str, items: &[(String, f64)]) -> Markup {
    if items.is_empty() {
        return empty(id, title, "None.");
    }
    let max = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1.0);
    let row = 18.0;
    let h = TOP + BOTTOM + row * items.len() as f64;
    let left = 180.0;
    // Room at the right for the longest bar's value.
    let x = |v: f64| left + v / max * (W - left - RIGHT - 40.0);
    let svg = html! {
        @for (i, (label, v)) in items.iter().enumerate() {
            @let y = TOP + row * i as f64;
            text.tick x=(px(left - 6.0)) y=(px(y + 12.0)) text-anchor="end" { (label) }
            rect.bar x=(px(left)) y=(px(y + 2.0)) width=(px((x(*v) - left).max(0.5))) height=(px(row - 4.0)) {
                title { (label) ": " (num(*v)) }
            }
            text.value x=(px(x(*v) + 4.0)) y=(px(y + 12.0)) { (num(*v)) }
        }
        line.axis x1=(px(left)) y1=(px(h - BOTTOM)) x2=(px(W - RIGHT)) y2=(px(h - BOTTOM)) {}
        text.label x=(px((left + W - RIGHT) / 2.0)) y=(px(h - 12.0)) text-anchor="middle" { (axis) }
    };
    let table = html! {
        table {
            thead { tr { th { "" } th { (axis) } } }
            tbody { @for (label, v) in items { tr { td { (label) } td { (num(*v)) } } } }
        }
    };
    html! {
        figure.chart id=(id) {
            figcaption id={(id) "-title"} { (title) }
            svg viewBox={"0 0 " (W) " " (px(h))} role="img" aria-labelledby={(id) "-title"} { (svg) }
            details { summary { "The numbers" } (table) }
        }
    }
}

/// Series of points per day (p50 and p90 of a measure): `days` in order,
/// each with one value per series.
pub fn per_day(
    id: &str,
    title: &str,
    axis: &str,
    series: &[&str],
    days: &[(String, Vec<f64>)],
) -> Markup {
    let max = days
        .iter()
        .flat_map(|d| d.1.iter().copied())
        .fold(0.0, f64::max)
        .max(0.001);
    let n = days.len().max(1) as f64;
    let slot = (W - LEFT - RIGHT) / n;
    let x = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let y = |v: f64| H - BOTTOM - v / max * (H - TOP - BOTTOM);
    let every = (days.len() / 8).max(1);
    let svg = html! {
        (y_axis(max, &y, axis))
        line.axis x1=(px(LEFT)) y1=(px(H - BOTTOM)) x2=(px(W - RIGHT)) y2=(px(H - BOTTOM)) {}
        @for (s, name) in series.iter().enumerate() {
            @let points: Vec<String> = days.iter().enumerate().map(|(i, d)| format!("{},{}", px(x(i)), px(y(d.1[s])))).collect();
            polyline class={"series s" (s)} points=(points.join(" ")) {}
            @for (i, d) in days.iter().enumerate() {
                circle class={"series s" (s)} cx=(px(x(i))) cy=(px(y(d.1[s]))) r="3" {
                    title { (d.0) " " (name) ": " (num(d.1[s])) }
                }
            }
        }
        @for (i, d) in days.iter().enumerate() {
            @if i % every == 0 {
                text.tick x=(px(x(i))) y=(px(H - BOTTOM + 15.0)) text-anchor="middle" { (d.0) }
            }
        }
        text.label x=(px((LEFT + W - RIGHT) / 2.0)) y=(px(H - 4.0)) text-anchor="middle" { "day (UTC)" }
        @for (s, name) in series.iter().enumerate() {
            text class={"legend s" (s)} x=(px(LEFT + 8.0 + 45.0 * s as f64)) y=(px(TOP + 10.0)) { (name) }
        }
    };
    let table = html! {
        table {
            thead { tr { th { "day" } @for s in series { th { (s) " (" (axis) ")" } } } }
            tbody { @for d in days { tr { td { (d.0) } @for v in &d.1 { td { (num(*v)) } } } } }
        }
    };
    figure(id, title, svg, table)
}
