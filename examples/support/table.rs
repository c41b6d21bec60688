//! A plain-text table with aligned columns, for the figures the lesson examples print.
//!
//! The first column holds labels and is aligned left. Every other column is aligned right when
//! all its cells are figures (they start with a digit, or a sign and a digit), so that digits
//! line up, and left when it holds text. Cells are strings: each example formats its own
//! figures, with the precision that suits them.

use std::fmt;

/// Space between two columns.
const GAP: &str = "  ";

/// Rows of cells under a header, printed with `Display`.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column titles.
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|title| title.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends one row. A row shorter than the header leaves its last cells blank; a longer
    /// one is a bug in the example, so it panics.
    pub fn row(&mut self, cells: Vec<String>) {
        assert!(
            cells.len() <= self.header.len(),
            "a row has {} cells, the header {}",
            cells.len(),
            self.header.len()
        );
        self.rows.push(cells);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Widths in characters, not bytes: a label may hold `µ` or `×`.
        let width = |cell: &String| cell.chars().count();
        let mut widths: Vec<usize> = self.header.iter().map(width).collect();
        for row in &self.rows {
            for (column, cell) in row.iter().enumerate() {
                widths[column] = widths[column].max(width(cell));
            }
        }
        let numeric: Vec<bool> = (0..widths.len())
            .map(|column| {
                column > 0
                    && self
                        .rows
                        .iter()
                        .filter_map(|row| row.get(column))
                        .all(|cell| looks_numeric(cell))
            })
            .collect();
        let empty = String::new();
        for line in std::iter::once(&self.header).chain(&self.rows) {
            let mut text = String::new();
            for (column, &column_width) in widths.iter().enumerate() {
                let cell = line.get(column).unwrap_or(&empty);
                let pad = " ".repeat(column_width - width(cell));
                if column > 0 {
                    text.push_str(GAP);
                }
                if numeric[column] {
                    text.push_str(&pad);
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&pad);
                }
            }
            writeln!(f, "{}", text.trim_end())?;
        }
        Ok(())
    }
}

/// Whether `cell` is a figure: a digit first, or a sign then a digit. The placeholders for a
/// missing figure (empty, `-`, `n/a`) count as figures too, so that they do not turn a column
/// of numbers into text.
fn looks_numeric(cell: &str) -> bool {
    let unsigned = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    matches!(cell, "" | "-" | "n/a") || unsigned.starts_with(|c: char| c.is_ascii_digit())
}
