//! The self-contained `report.html`: the matrix, then every spec's schedules as timelines.

use crate::classify::Cell;
use crate::timeline;
use isolation_tester::header::IsolationLevel;
use isolation_tester::{LoadedSpec, SpecRun};
use std::fmt::Write;

/// One engine's results for one spec: per level, the run (or why it failed) and its cell.
pub struct EngineResult {
    /// Engine name (`ssidb`, `PostgreSQL`).
    pub engine: String,
    /// Per level the spec lists: the cell and the run.
    pub levels: Vec<(IsolationLevel, Cell, Option<SpecRun>)>,
}

/// Everything known about one spec.
pub struct SpecResult {
    /// File stem.
    pub name: String,
    /// The loaded spec.
    pub spec: LoadedSpec,
    /// ssidb first, then PostgreSQL if given.
    pub engines: Vec<EngineResult>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top;font-size:13px}
th{background:#eee}.allowed{background:#f8c4c4}.prev{background:#c9ecc9}.err40001{background:#b5dcf5}
.blockingc{background:#f6e7a8}.mismatch{outline:3px solid #c00}
.tl td.ok{background:#f3fbf3}.tl td.blocked{background:#fff2b3}.tl td.done{background:#e8f0ff}.tl td.err{background:#ffd0d0}
.tl td{min-width:16em;max-width:30em}.tl pre{margin:2px 0;font-size:11px}.tag{background:#e0a800;color:#fff;border-radius:3px;padding:0 4px;font-size:11px}
code{font-size:12px}.n{color:#888}h2{margin-top:2em;border-bottom:1px solid #ccc}.final{background:#eef;padding:4px}
details{margin-left:1em}summary{cursor:pointer;font-weight:bold}";

fn cell_class(c: &Cell) -> &'static str {
    match c {
        Cell::Allowed => "allowed",
        Cell::PreventedByError(code) if code == "40001" => "err40001",
        Cell::PreventedByBlocking => "blockingc",
        Cell::Failed(_) => "mismatch",
        _ => "prev",
    }
}

/// Renders the report.
pub fn render(results: &[SpecResult]) -> String {
    let engines: Vec<String> =
        results.first().map(|r| r.engines.iter().map(|e| e.engine.clone()).collect()).unwrap_or_default();
    let mut h = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ssidb anomaly report</title><style>{STYLE}</style></head><body>\
         <h1>Isolation anomalies by level</h1><p>Each cell is computed from the run by the spec header's rules: \
         <span class=\"allowed\">allowed</span> (an <code>anomaly-if</code> rule held), \
         <span class=\"err40001\">prevented by 40001</span>, <span class=\"blockingc\">prevented by blocking</span>, \
         <span class=\"prev\">prevented</span> (or by another error). A red outline: the header expected otherwise.</p>"
    );
    h.push_str("<table><tr><th rowspan=2>spec</th><th rowspan=2>phenomenon</th>");
    for e in &engines {
        let _ = write!(h, "<th colspan=3>{}</th>", esc(e));
    }
    h.push_str("</tr><tr>");
    for _ in &engines {
        h.push_str("<th>READ COMMITTED</th><th>REPEATABLE READ</th><th>SERIALIZABLE</th>");
    }
    h.push_str("</tr>");
    for r in results {
        let _ = write!(
            h,
            "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td>",
            esc(&r.name),
            esc(r.spec.header.phenomenon.as_deref().unwrap_or(""))
        );
        for e in &r.engines {
            for level in IsolationLevel::ALL {
                match e.levels.iter().find(|(l, _, _)| *l == level) {
                    Some((_, cell, _)) => {
                        let expected =
                            r.spec.header.expect.iter().find(|x| x.level == level).map(|x| x.outcome);
                        let bad = cell.outcome() != expected;
                        let _ = write!(
                            h,
                            "<td class=\"{}{}\">{}</td>",
                            cell_class(cell),
                            if bad { " mismatch" } else { "" },
                            esc(&cell.long())
                        );
                    }
                    None => h.push_str("<td></td>"),
                }
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    for r in results {
        spec_section(&mut h, r);
    }
    h.push_str("</body></html>\n");
    h
}

fn spec_section(h: &mut String, r: &SpecResult) {
    let hd = &r.spec.header;
    let _ = write!(
        h,
        "<h2 id=\"{0}\">{0}: {1}</h2><p><i>{2}</i></p><ul>",
        esc(&r.name),
        esc(hd.phenomenon.as_deref().unwrap_or("")),
        esc(hd.definition.as_deref().unwrap_or(""))
    );
    for x in &hd.expect {
        let _ = write!(h, "<li>expect {}: {} {}</li>", x.level, x.outcome, esc(&x.note));
    }
    for rule in &hd.anomaly_if {
        let _ = write!(h, "<li>anomaly if: <code>{}</code></li>", esc(&rule.text));
    }
    h.push_str("</ul>");
    let sessions: Vec<String> = r.spec.checked.spec.sessions.iter().map(|s| s.name.clone()).collect();
    let column = |step: &str| {
        r.spec.checked.spec.sessions.iter().position(|s| s.steps.iter().any(|st| st.name == step))
    };
    for e in &r.engines {
        for (i, (level, cell, run)) in e.levels.iter().enumerate() {
            let open = if e.engine == "ssidb" && i == 0 { " open" } else { "" };
            let _ = write!(
                h,
                "<details{open}><summary>{} at {}: {}</summary>",
                esc(&e.engine),
                level,
                esc(&cell.long())
            );
            if let Some(run) = run {
                for p in &run.permutations {
                    let anomalous = hd.anomaly_in(p);
                    let _ = write!(
                        h,
                        "<p>permutation {}: <code>{}</code> &mdash; {}{}</p>",
                        p.index,
                        esc(&p.steps_line()),
                        esc(&p.verdict().to_string()),
                        if anomalous { " <b class=\"allowed\">anomaly</b>" } else { "" }
                    );
                    let events = timeline::parse(&p.output, column);
                    h.push_str(&timeline::html(&sessions, &events));
                    if let Some(last) = events
                        .iter()
                        .rev()
                        .find(|ev| ev.output.iter().any(|l| l.ends_with(" rows)") || l.ends_with(" row)")))
                    {
                        let _ = write!(
                            h,
                            "<div class=\"final\">final rows ({}):<pre>{}</pre></div>",
                            esc(&last.step),
                            esc(&last.output.join("\n"))
                        );
                    }
                }
            }
            h.push_str("</details>");
        }
    }
}
