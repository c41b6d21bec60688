//! Hand-written SVG charts: line charts over a logarithmic x axis (one panel per pipelining
//! depth), and bar charts.
//!
//! Plain SVG 1.1 text, no dependency: text is `<text>` in the viewer's sans-serif font, so
//! nothing is rasterised here and no font has to be installed to write a chart. Every panel
//! has its own y scale, starting at zero (or below, for negative bars) so that heights
//! compare honestly; x is logarithmic because connection counts go by factors of ten.

use std::fmt::Write;

/// Width of one panel, axes and labels included.
const PANEL_WIDTH: f64 = 460.0;
/// Height of one panel, axes and labels included.
const PANEL_HEIGHT: f64 = 330.0;
/// Room inside a panel left of the plot area, for the y tick labels and the y label.
const PLOT_LEFT: f64 = 78.0;
/// Room inside a panel right of the plot area.
const PLOT_RIGHT: f64 = 18.0;
/// Room inside a panel above the plot area, for the panel's title.
const PLOT_TOP: f64 = 34.0;
/// Room inside a panel below the plot area, for the x tick labels and the x label.
const PLOT_BOTTOM: f64 = 52.0;
/// Height of the chart's title band.
const TITLE_HEIGHT: f64 = 34.0;
/// Height of the legend band under the panels.
const LEGEND_HEIGHT: f64 = 34.0;
/// Roughly how many y ticks a panel gets.
const Y_TICKS: usize = 5;
/// Length of the line sample in a legend entry.
const LEGEND_SAMPLE: f64 = 28.0;
/// Width given to each bar of a bar chart, gap included.
const BAR_SLOT: f64 = 110.0;
/// The font stack of every label.
const FONT: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// One line of a line chart.
pub struct Series {
    /// Its legend entry.
    pub name: String,
    /// Its stroke colour (any SVG colour).
    pub color: &'static str,
    /// Its `stroke-dasharray` (empty for solid), so lines differ by more than colour.
    pub dash: &'static str,
    /// Its points, `(x, y)`; x must be positive (the axis is logarithmic).
    pub points: Vec<(f64, f64)>,
}

/// One panel of a line chart: its own axes, the chart's shared labels.
pub struct Panel {
    /// The panel's title, above it.
    pub title: String,
    /// Its lines.
    pub series: Vec<Series>,
}

/// A line chart: panels side by side, one legend under them.
pub struct LineChart {
    /// The title above every panel.
    pub title: String,
    /// The x axis label of every panel.
    pub x_label: String,
    /// The y axis label of every panel.
    pub y_label: String,
    /// The panels, left to right.
    pub panels: Vec<Panel>,
}

/// One bar of a bar chart.
pub struct Bar {
    /// The label under it.
    pub label: String,
    /// Its height (may be negative).
    pub value: f64,
    /// Its fill colour.
    pub color: &'static str,
}

/// A bar chart with an optional horizontal target line.
pub struct BarChart {
    /// The title above it.
    pub title: String,
    /// The y axis label.
    pub y_label: String,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
    /// A horizontal line at `.0`, labelled `.1` (a target, say).
    pub threshold: Option<(f64, String)>,
    /// How a value prints above its bar.
    pub unit: &'static str,
}

/// A linear mapping from data to pixels.
struct Scale {
    data: (f64, f64),
    pixels: (f64, f64),
}

impl Scale {
    fn at(&self, value: f64) -> f64 {
        let (d0, d1) = self.data;
        let (p0, p1) = self.pixels;
        p0 + (value - d0) / (d1 - d0) * (p1 - p0)
    }
}

/// Renders a line chart.
pub fn line_chart(chart: &LineChart) -> String {
    // One legend for all panels: every series name, in order of first appearance.
    let mut entries: Vec<&Series> = Vec::new();
    for series in chart.panels.iter().flat_map(|panel| &panel.series) {
        if !entries.iter().any(|entry| entry.name == series.name) {
            entries.push(series);
        }
    }
    let entry_width = |series: &Series| LEGEND_SAMPLE + text_width(&series.name, 13.0) + 24.0;
    let legend_width: f64 = entries.iter().map(|series| entry_width(series)).sum();
    let width = (PANEL_WIDTH * chart.panels.len().max(1) as f64)
        .max(legend_width + 40.0)
        .max(text_width(&chart.title, 16.0) + 40.0);
    let height = TITLE_HEIGHT + PANEL_HEIGHT + LEGEND_HEIGHT;
    let mut svg = open_svg(width, height, &chart.title);
    let panels_left = (width - PANEL_WIDTH * chart.panels.len() as f64) / 2.0;
    for (index, panel) in chart.panels.iter().enumerate() {
        let left = panels_left + PANEL_WIDTH * index as f64;
        draw_panel(&mut svg, panel, chart, left, TITLE_HEIGHT);
    }
    let legend_y = TITLE_HEIGHT + PANEL_HEIGHT + LEGEND_HEIGHT / 2.0;
    let mut x = (width - legend_width) / 2.0;
    for series in entries {
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="{}" stroke-width="2.5" stroke-dasharray="{}"/>"#,
            x + LEGEND_SAMPLE,
            series.color,
            series.dash
        );
        let _ = writeln!(
            svg,
            r#"<circle cx="{:.1}" cy="{legend_y:.1}" r="3.5" fill="{}"/>"#,
            x + LEGEND_SAMPLE / 2.0,
            series.color
        );
        text(
            &mut svg,
            x + LEGEND_SAMPLE + 6.0,
            legend_y + 4.5,
            13.0,
            "start",
            &series.name,
        );
        x += entry_width(series);
    }
    svg.push_str("</svg>\n");
    svg
}

/// Draws one panel with its top-left corner at (`left`, `top`).
fn draw_panel(svg: &mut String, panel: &Panel, chart: &LineChart, left: f64, top: f64) {
    let plot_left = left + PLOT_LEFT;
    let plot_right = left + PANEL_WIDTH - PLOT_RIGHT;
    let plot_top = top + PLOT_TOP;
    let plot_bottom = top + PANEL_HEIGHT - PLOT_BOTTOM;
    text(
        svg,
        (plot_left + plot_right) / 2.0,
        top + 20.0,
        14.0,
        "middle",
        &panel.title,
    );

    let points = || panel.series.iter().flat_map(|series| &series.points);
    let (x_min, x_max) = points().fold((f64::MAX, f64::MIN), |(lo, hi), &(x, _)| {
        (lo.min(x), hi.max(x))
    });
    let y_max = points().fold(0.0_f64, |hi, &(_, y)| hi.max(y));
    if x_min > x_max {
        text(
            svg,
            (plot_left + plot_right) / 2.0,
            (plot_top + plot_bottom) / 2.0,
            13.0,
            "middle",
            "no data",
        );
        return;
    }
    // x: whole decades around the data.
    let decade_lo = x_min.max(1e-9).log10().floor() as i32;
    let decade_hi = (x_max.max(1e-9).log10().ceil() as i32).max(decade_lo + 1);
    let x_scale = Scale {
        data: (f64::from(decade_lo), f64::from(decade_hi)),
        pixels: (plot_left + 10.0, plot_right - 10.0),
    };
    let x_at = |x: f64| x_scale.at(x.log10());
    // y: zero to a round number above the data.
    let step = nice_step(y_max.max(f64::MIN_POSITIVE), Y_TICKS);
    let y_top = (y_max / step).ceil().max(1.0) * step;
    let y_scale = Scale {
        data: (0.0, y_top),
        pixels: (plot_bottom, plot_top),
    };

    frame(svg, plot_left, plot_top, plot_right, plot_bottom);
    for decade in decade_lo..=decade_hi {
        let x = x_scale.at(f64::from(decade));
        grid_line(svg, x, plot_top, x, plot_bottom);
        text(
            svg,
            x,
            plot_bottom + 17.0,
            12.0,
            "middle",
            &si(10f64.powi(decade)),
        );
    }
    for tick in ticks(0.0, y_top, step) {
        let y = y_scale.at(tick);
        grid_line(svg, plot_left, y, plot_right, y);
        text(svg, plot_left - 6.0, y + 4.0, 12.0, "end", &si(tick));
    }
    text(
        svg,
        (plot_left + plot_right) / 2.0,
        plot_bottom + 38.0,
        13.0,
        "middle",
        &chart.x_label,
    );
    let label_x = left + 16.0;
    let label_y = (plot_top + plot_bottom) / 2.0;
    let _ = writeln!(
        svg,
        r#"<text x="{label_x:.1}" y="{label_y:.1}" font-size="13" text-anchor="middle" transform="rotate(-90 {label_x:.1} {label_y:.1})">{}</text>"#,
        escape(&chart.y_label)
    );

    for series in &panel.series {
        let mut sorted = series.points.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path: Vec<String> = sorted
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", x_at(x), y_scale.at(y)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{}" stroke-width="2.5" stroke-dasharray="{}" points="{}"/>"#,
            series.color,
            series.dash,
            path.join(" ")
        );
        for &(x, y) in &sorted {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"/>"#,
                x_at(x),
                y_scale.at(y),
                series.color
            );
        }
    }
}

/// Renders a bar chart.
pub fn bar_chart(chart: &BarChart) -> String {
    let width = (PLOT_LEFT + PLOT_RIGHT + BAR_SLOT * chart.bars.len().max(1) as f64)
        .max(PANEL_WIDTH)
        .max(text_width(&chart.title, 16.0) + 40.0);
    let legend = if chart.threshold.is_some() {
        LEGEND_HEIGHT
    } else {
        0.0
    };
    let height = TITLE_HEIGHT + PANEL_HEIGHT + legend;
    let mut svg = open_svg(width, height, &chart.title);
    let plot_left = PLOT_LEFT;
    let plot_right = width - PLOT_RIGHT;
    let plot_top = TITLE_HEIGHT + 20.0;
    let plot_bottom = TITLE_HEIGHT + PANEL_HEIGHT - PLOT_BOTTOM + 10.0;

    let threshold = chart.threshold.as_ref().map(|(value, _)| *value);
    let values = chart.bars.iter().map(|bar| bar.value).chain(threshold);
    let (lo, hi) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let step = nice_step((hi - lo).max(f64::MIN_POSITIVE), Y_TICKS);
    // Headroom above the tallest bar for its value label.
    let y_top = ((hi * 1.08) / step).ceil().max(1.0) * step;
    let y_bottom = (lo / step).floor() * step;
    let y_scale = Scale {
        data: (y_bottom, y_top),
        pixels: (plot_bottom, plot_top),
    };

    frame(&mut svg, plot_left, plot_top, plot_right, plot_bottom);
    for tick in ticks(y_bottom, y_top, step) {
        let y = y_scale.at(tick);
        grid_line(&mut svg, plot_left, y, plot_right, y);
        text(&mut svg, plot_left - 6.0, y + 4.0, 12.0, "end", &si(tick));
    }
    let label_x = 16.0;
    let label_y = (plot_top + plot_bottom) / 2.0;
    let _ = writeln!(
        svg,
        r#"<text x="{label_x:.1}" y="{label_y:.1}" font-size="13" text-anchor="middle" transform="rotate(-90 {label_x:.1} {label_y:.1})">{}</text>"#,
        escape(&chart.y_label)
    );

    let slot = (plot_right - plot_left) / chart.bars.len().max(1) as f64;
    let zero = y_scale.at(0.0);
    for (index, bar) in chart.bars.iter().enumerate() {
        let center = plot_left + slot * (index as f64 + 0.5);
        let bar_width = slot * 0.55;
        let y = y_scale.at(bar.value);
        let (top, bottom) = if y < zero { (y, zero) } else { (zero, y) };
        let _ = writeln!(
            svg,
            r#"<rect x="{:.1}" y="{top:.1}" width="{bar_width:.1}" height="{:.1}" fill="{}"/>"#,
            center - bar_width / 2.0,
            bottom - top,
            bar.color
        );
        let value = format!("{:.0} {}", bar.value, chart.unit);
        let value_y = if bar.value >= 0.0 {
            top - 6.0
        } else {
            bottom + 15.0
        };
        text(&mut svg, center, value_y, 12.0, "middle", &value);
        text(
            &mut svg,
            center,
            plot_bottom + 18.0,
            13.0,
            "middle",
            &bar.label,
        );
    }
    let _ = writeln!(
        svg,
        r#"<line x1="{plot_left:.1}" y1="{zero:.1}" x2="{plot_right:.1}" y2="{zero:.1}" stroke="black"/>"#
    );
    if let Some((value, label)) = &chart.threshold {
        let y = y_scale.at(*value);
        let _ = writeln!(
            svg,
            r##"<line x1="{plot_left:.1}" y1="{y:.1}" x2="{plot_right:.1}" y2="{y:.1}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>"##
        );
        // Explained under the plot rather than beside the line, where it would collide
        // with the bars' value labels.
        let legend_y = TITLE_HEIGHT + PANEL_HEIGHT + LEGEND_HEIGHT / 2.0;
        let legend_width = LEGEND_SAMPLE + 6.0 + text_width(label, 13.0);
        let x = (width - legend_width) / 2.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>"##,
            x + LEGEND_SAMPLE
        );
        text(
            &mut svg,
            x + LEGEND_SAMPLE + 6.0,
            legend_y + 4.5,
            13.0,
            "start",
            label,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The document's opening: size, white background, font, and the title.
fn open_svg(width: f64, height: f64, title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="{FONT}">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="23" font-size="16" font-weight="bold" text-anchor="middle">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    svg
}

/// The plot area's border.
fn frame(svg: &mut String, left: f64, top: f64, right: f64, bottom: f64) {
    let _ = writeln!(
        svg,
        r#"<rect x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="black"/>"#,
        right - left,
        bottom - top
    );
}

/// A light grid line.
fn grid_line(svg: &mut String, x1: f64, y1: f64, x2: f64, y2: f64) {
    let _ = writeln!(
        svg,
        r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#dddddd"/>"##
    );
}

/// A label; `anchor` is `start`, `middle` or `end`.
fn text(svg: &mut String, x: f64, y: f64, size: f64, anchor: &str, content: &str) {
    let _ = writeln!(
        svg,
        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}">{}</text>"#,
        escape(content)
    );
}

/// The ticks from `from` to `to` (both multiples of `step`), computed from an index so that
/// no rounding error accumulates.
fn ticks(from: f64, to: f64, step: f64) -> impl Iterator<Item = f64> {
    let count = ((to - from) / step).round() as i64;
    (0..=count).map(move |index| {
        let tick = from + step * index as f64;
        // `-0` would print as a label; a tick within rounding of zero is zero.
        if tick.abs() < step * 1e-9 { 0.0 } else { tick }
    })
}

/// An estimate of the width of `content` at font size `size`: about 0.6 em per character in
/// a sans-serif font, enough to lay out titles and legends without measuring glyphs.
fn text_width(content: &str, size: f64) -> f64 {
    content.chars().count() as f64 * size * 0.6
}

/// A round step (1, 2 or 5 × a power of ten) that cuts `span` into about `ticks` parts.
fn nice_step(span: f64, ticks: usize) -> f64 {
    let raw = span / ticks as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let leading = raw / magnitude;
    let nice = if leading <= 1.0 {
        1.0
    } else if leading <= 2.0 {
        2.0
    } else if leading <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A tick label: `250`, `1.5k`, `20k`, `1.2M`.
pub fn si(value: f64) -> String {
    let (scaled, suffix) = match value.abs() {
        v if v >= 1e6 => (value / 1e6, "M"),
        v if v >= 1e3 => (value / 1e3, "k"),
        _ => (value, ""),
    };
    let mut number = format!("{scaled:.1}");
    if number.ends_with(".0") {
        number.truncate(number.len() - 2);
    }
    format!("{number}{suffix}")
}

/// Escapes the characters XML reserves in text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
