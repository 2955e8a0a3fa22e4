//! Printing shared by several subcommands, so that no subcommand reaches into another: tables
//! and the one-line form of a job's state.

use printlab_graph::PrintJob;

/// Left-aligned columns, two spaces apart.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `state (detail, detail): description`.
pub fn describe(job: &PrintJob) -> String {
    let details: Vec<String> = job.status.details.iter().map(|d| d.to_string()).collect();
    let mut out = job.status.state.to_string();
    if !details.is_empty() {
        out.push_str(&format!(" ({})", details.join(", ")));
    }
    if !job.status.description.is_empty() {
        out.push_str(&format!(": {}", job.status.description));
    }
    out
}
