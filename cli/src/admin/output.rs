//! Plain-text output shared by the admin commands: aligned tables and printable previews of
//! arbitrary bytes.

/// Renders `rows` under `headers` as left-aligned columns separated by two spaces.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }

    let mut out = String::new();
    let header_cells: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Longest preview [`printable_preview`] returns, in characters.
pub const PREVIEW_MAX_CHARS: usize = 200;

/// A one-line, printable rendering of `bytes`, at most `max_chars` characters long (the
/// trailing `…` that marks a cut included). Valid UTF-8 is shown as text; control characters
/// are escaped (`\n`, `\t`, `\u{1b}`), and bytes that are not UTF-8 are shown as `\xNN`, so
/// nothing the terminal would interpret reaches it.
pub fn printable_preview(bytes: &[u8], max_chars: usize) -> String {
    let mut pieces: Vec<String> = Vec::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            pieces.push(match c {
                '\n' => "\\n".into(),
                '\r' => "\\r".into(),
                '\t' => "\\t".into(),
                '\\' => "\\\\".into(),
                c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
                c => c.to_string(),
            });
        }
        for b in chunk.invalid() {
            pieces.push(format!("\\x{b:02x}"));
        }
    }

    let mut out = String::new();
    let mut used = 0;
    for (i, piece) in pieces.iter().enumerate() {
        let len = piece.chars().count();
        // Keep room for the ellipsis unless this piece is the last one.
        let room = if i + 1 == pieces.len() {
            max_chars
        } else {
            max_chars.saturating_sub(1)
        };
        if used + len > room {
            if max_chars > 0 {
                out.push('…');
            }
            return out;
        }
        out.push_str(piece);
        used += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_aligned() {
        let table = render_table(
            &["TOPIC", "STATUS"],
            &[
                vec!["iocflow.raw".into(), "ok".into()],
                vec!["x".into(), "missing".into()],
            ],
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "TOPIC        STATUS");
        assert_eq!(lines[1], "iocflow.raw  ok");
        assert_eq!(lines[2], "x            missing");
    }

    #[test]
    fn preview_shows_text_and_escapes_the_rest() {
        assert_eq!(
            printable_preview(b"1.2.3.4,malware", 200),
            "1.2.3.4,malware"
        );
        assert_eq!(
            printable_preview(b"a\nb\t\x1b[31m", 200),
            "a\\nb\\t\\u{1b}[31m"
        );
        assert_eq!(printable_preview(b"ok\xff\xfeend", 200), "ok\\xff\\xfeend");
        assert_eq!(printable_preview("é≠".as_bytes(), 200), "é≠");
    }

    #[test]
    fn preview_never_exceeds_the_limit() {
        let long = vec![b'a'; 1000];
        let p = printable_preview(&long, PREVIEW_MAX_CHARS);
        assert_eq!(p.chars().count(), PREVIEW_MAX_CHARS);
        assert!(p.ends_with('…'));

        // Escapes count with their full width, and are never cut in half.
        let binary = vec![0xffu8; 300];
        let p = printable_preview(&binary, PREVIEW_MAX_CHARS);
        assert!(
            p.chars().count() <= PREVIEW_MAX_CHARS,
            "{}",
            p.chars().count()
        );
        assert!(p.trim_end_matches('…').ends_with("\\xff"));

        // Exactly at the limit: no ellipsis.
        let exact = vec![b'b'; PREVIEW_MAX_CHARS];
        assert_eq!(
            printable_preview(&exact, PREVIEW_MAX_CHARS),
            "b".repeat(200)
        );
    }
}
