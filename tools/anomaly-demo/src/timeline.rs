//! A permutation's transcript turned into a timeline: one row per event, one column per session.
//!
//! The transcript (PostgreSQL's isolation-tester format) is the ground truth; this module only
//! re-arranges it. Events: `step x: SQL` (sent and completed), `step x: SQL <waiting ...>` (sent,
//! blocked), `step x: <... completed>` (a blocked step finished); the lines up to the next event
//! are its result (a table, `ERROR:  ...`, notices).

use std::fmt::Write;

/// One event of the timeline.
#[derive(Debug, Clone)]
pub struct Event {
    /// The step's name.
    pub step: String,
    /// Its session's column.
    pub column: usize,
    /// The SQL (empty for a completion).
    pub sql: String,
    /// The step blocked here (`<waiting ...>`).
    pub blocked: bool,
    /// This is the completion of a blocked step.
    pub completion: bool,
    /// Lines printed after the event (result table, errors).
    pub output: Vec<String>,
}

impl Event {
    /// The first error line, if the step failed.
    pub fn error(&self) -> Option<&str> {
        self.output.iter().find(|l| l.starts_with("ERROR:")).map(String::as_str)
    }
}

/// Parses one permutation's output; `session_of` maps a step name to its column.
pub fn parse(output: &str, session_of: impl Fn(&str) -> Option<usize>) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("step ") {
            if let Some((name, body)) = rest.split_once(": ") {
                if let Some(column) = session_of(name) {
                    let completion = body == "<... completed>";
                    let blocked = body.ends_with("<waiting ...>");
                    let sql = if completion {
                        String::new()
                    } else {
                        body.trim_end_matches("<waiting ...>").trim().to_string()
                    };
                    events.push(Event {
                        step: name.to_string(),
                        column,
                        sql,
                        blocked,
                        completion,
                        output: vec![],
                    });
                    continue;
                }
            }
        }
        if line.starts_with("starting permutation:") || line.is_empty() {
            continue;
        }
        if let Some(e) = events.last_mut() {
            e.output.push(line.to_string());
        }
    }
    events
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Renders the events as an HTML table with one column per session.
pub fn html(sessions: &[String], events: &[Event]) -> String {
    let mut h = String::from("<table class=\"tl\"><tr><th>#</th>");
    for s in sessions {
        let _ = write!(h, "<th>{}</th>", esc(s));
    }
    h.push_str("</tr>");
    for (i, e) in events.iter().enumerate() {
        let class = if e.error().is_some() {
            "err"
        } else if e.blocked {
            "blocked"
        } else if e.completion {
            "done"
        } else {
            "ok"
        };
        let _ = write!(h, "<tr><td class=\"n\">{}</td>", i + 1);
        for c in 0..sessions.len() {
            if c != e.column {
                h.push_str("<td></td>");
                continue;
            }
            let _ = write!(h, "<td class=\"{class}\"><b>{}</b> ", esc(&e.step));
            if e.completion {
                h.push_str("<i>&hellip; completed</i>");
            } else {
                let _ = write!(h, "<code>{}</code>", esc(&e.sql));
            }
            if e.blocked {
                h.push_str(" <span class=\"tag\">waits</span>");
            }
            if !e.output.is_empty() {
                let _ = write!(h, "<pre>{}</pre>", esc(&e.output.join("\n")));
            }
            h.push_str("</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_waits_completions_and_errors() {
        let out = "starting permutation: w1 w2 c1\nstep w1: UPDATE t SET v = 1;\nstep w2: UPDATE t SET v = 2; <waiting ...>\nstep c1: COMMIT;\nstep w2: <... completed>\nERROR:  could not serialize access due to concurrent update\n";
        let ev = parse(out, |s| Some(if s.ends_with('1') { 0 } else { 1 }));
        assert_eq!(ev.len(), 4);
        assert!(ev[1].blocked && ev[3].completion);
        assert!(ev[3].error().is_some());
        assert!(html(&["s1".into(), "s2".into()], &ev).contains("class=\"err\""));
    }
}
