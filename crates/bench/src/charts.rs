//! SVG charts (plotters, SVG backend only: no font or system libraries are needed, text is
//! emitted as SVG `<text>` and laid out with plotters' built-in estimate).

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::report::{Report, ScenarioReport};

type Series = (String, Vec<(f64, f64)>);

fn bounds(series: &[Series]) -> Option<(f64, f64)> {
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .filter(|y| *y > 0.0)
        .collect();
    let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ys.iter().copied().fold(0.0, f64::max);
    (lo.is_finite() && hi > 0.0).then(|| (lo / 2.0, hi * 2.0))
}

/// A log-y line chart with one series per system; `x_labels` name the integer x positions.
fn line_chart(
    path: &Path,
    title: &str,
    y_desc: &str,
    x_desc: &str,
    x_labels: &[String],
    series: &[Series],
    y_fmt: fn(f64) -> String,
) -> Result<(), String> {
    let (lo, hi) = bounds(series).ok_or("nothing to plot")?;
    let root = SVGBackend::new(path, (1000, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // The legend gets its own column on the right so that it never hides a line.
    let (plot, legend) = root.split_horizontally(800);
    let n = x_labels.len() as f64;
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.3f64..(n - 0.7), (lo..hi).log_scale())
        .map_err(|e| e.to_string())?;
    let labels = x_labels.to_vec();
    chart
        .configure_mesh()
        .x_labels(x_labels.len())
        .x_label_formatter(&move |x| {
            let i = x.round();
            if (x - i).abs() < 0.05 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| y_fmt(*y))
        .y_desc(y_desc)
        .x_desc(x_desc)
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let pts: Vec<(f64, f64)> = pts.iter().copied().filter(|(_, y)| *y > 0.0).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))
            .map_err(|e| e.to_string())?;
        let y = 60 + 22 * i as i32;
        legend
            .draw(&PathElement::new(
                vec![(10, y), (34, y)],
                color.stroke_width(3),
            ))
            .map_err(|e| e.to_string())?;
        legend
            .draw(&Text::new(name.clone(), (40, y - 7), ("sans-serif", 14)))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

fn find<'a>(r: &'a Report, name: &str) -> Option<&'a ScenarioReport> {
    r.scenarios.iter().find(|s| s.name == name)
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// "0.05", "10", "250".
fn fmt_rate(v: f64) -> String {
    trim(v)
}

/// "80 ns", "1.5 µs", "12 ms".
fn fmt_ns(v: f64) -> String {
    if v >= 1e6 {
        format!("{} ms", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{} µs", trim(v / 1e3))
    } else {
        format!("{} ns", trim(v))
    }
}

/// Throughput against consumer count from `names` (scenarios with 1, 2, 4 consumers).
fn throughput_chart(
    r: &Report,
    dir: &Path,
    file: &str,
    title: &str,
    names: &[&str],
) -> Result<Option<PathBuf>, String> {
    let scen: Vec<&ScenarioReport> = names.iter().filter_map(|n| find(r, n)).collect();
    if scen.len() < 2 {
        return Ok(None);
    }
    let mut systems: Vec<String> = Vec::new();
    for s in &scen {
        for row in &s.results {
            if !systems.contains(&row.system) {
                systems.push(row.system.clone());
            }
        }
    }
    let series: Vec<Series> = systems
        .iter()
        .map(|sys| {
            let pts = scen
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    s.results
                        .iter()
                        .find(|x| &x.system == sys)
                        .and_then(|x| x.events_per_sec_median)
                        .map(|v| (i as f64, v / 1e6))
                })
                .collect();
            (sys.clone(), pts)
        })
        .collect();
    let labels: Vec<String> = scen
        .iter()
        .map(|s| format!("{} consumer(s)", s.consumers))
        .collect();
    let path = dir.join(file);
    let title = format!("{title} ({} cores)", r.machine.cores);
    line_chart(
        &path,
        &title,
        "M events/s (median, log)",
        "consumers",
        &labels,
        &series,
        fmt_rate,
    )?;
    Ok(Some(path))
}

/// Latency percentiles of one scenario, one line per system.
fn latency_chart(r: &Report, dir: &Path, scenario: &str) -> Result<Option<PathBuf>, String> {
    let Some(s) = find(r, scenario) else {
        return Ok(None);
    };
    let series: Vec<Series> = s
        .results
        .iter()
        .filter_map(|row| {
            let v = [
                row.p50_ns?,
                row.p90_ns?,
                row.p99_ns?,
                row.p999_ns?,
                row.max_ns?,
            ];
            Some((
                row.system.clone(),
                v.iter()
                    .enumerate()
                    .map(|(i, x)| (i as f64, *x as f64))
                    .collect(),
            ))
        })
        .collect();
    if series.is_empty() {
        return Ok(None);
    }
    let labels: Vec<String> = ["p50", "p90", "p99", "p99.9", "max"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let path = dir.join(format!("{scenario}.svg"));
    let title = format!(
        "publish-to-handle latency, {} ({} cores)",
        s.description, r.machine.cores
    );
    line_chart(
        &path,
        &title,
        "latency (log)",
        "percentile",
        &labels,
        &series,
        fmt_ns,
    )?;
    Ok(Some(path))
}

/// Writes every chart the report has data for into `dir`; returns the files written.
pub fn write_all(r: &Report, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    out.extend(throughput_chart(
        r,
        dir,
        "throughput-vs-consumers.svg",
        "throughput vs consumers, single publish",
        &["unicast-single", "multicast-2", "multicast-4"],
    )?);
    out.extend(throughput_chart(
        r,
        dir,
        "throughput-vs-consumers-batch32.svg",
        "throughput vs consumers, batches of 32",
        &[
            "unicast-batch32",
            "multicast-2-batch32",
            "multicast-4-batch32",
        ],
    )?);
    for s in ["latency-100k", "latency-1m", "burst-100-pause-1ms"] {
        out.extend(latency_chart(r, dir, s)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_text() {
        let dir = std::env::temp_dir().join(format!("ringbus-bench-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.svg");
        let series = vec![
            ("a".to_string(), vec![(0.0, 1.0), (1.0, 10.0)]),
            ("b".to_string(), vec![(0.0, 3.0), (1.0, 0.5)]),
        ];
        line_chart(
            &path,
            "title",
            "y",
            "x",
            &["one".into(), "two".into()],
            &series,
            fmt_ns,
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            (fmt_ns(80.0), fmt_ns(1500.0), fmt_ns(1.2e7), fmt_rate(0.050)),
            (
                "80 ns".into(),
                "1.5 µs".into(),
                "12 ms".into(),
                "0.05".into()
            )
        );
        assert!(svg.starts_with("<svg") && svg.contains("title") && svg.contains("\ntwo\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
