//! What the pages' CSV downloads write: lines whose cells a spreadsheet
//! opens as the text they hold. A cell that a spreadsheet would read as a
//! formula (`=`, `+`, `-`, `@`, a tab or a carriage return first: an
//! employee's job title, a key's name or a partner's refusal may be any
//! text) is written with a `'` before it; numbers stay numbers.

use std::borrow::Cow;

/// `cell` as a spreadsheet should read it: as written, unless it would be
/// taken for a formula, then behind a `'`.
pub(crate) fn as_text(cell: &str) -> Cow<'_, str> {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && cell.parse::<f64>().is_err() {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `records` written as CSV lines after `start`, each cell through
/// [`as_text`].
pub(crate) fn csv_rows<R, C>(
    start: Vec<u8>,
    records: impl Iterator<Item = R>,
) -> Result<Vec<u8>, csv::Error>
where
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut out = csv::Writer::from_writer(start);
    for record in records {
        for cell in record {
            out.write_field(as_text(cell.as_ref()).as_bytes())?;
        }
        // Ends the line.
        out.write_record(None::<&[u8]>)?;
    }
    out.into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// The byte-order mark that makes spreadsheets read a CSV file as UTF-8.
pub(crate) const UTF8_MARK: &[u8] = b"\xEF\xBB\xBF";

/// One part of a streamed CSV file: `records` as its lines, or the error
/// that breaks the download off (rather than let it end as if complete).
pub(crate) fn csv_part<R, C>(
    records: impl Iterator<Item = R>,
) -> Result<axum::body::Bytes, std::io::Error>
where
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    csv_rows(Vec::new(), records)
        .map(axum::body::Bytes::from)
        .map_err(std::io::Error::other)
}

/// A CSV file to download, named `name`, its parts sent as `parts` yields
/// them.
pub(crate) fn csv_file<S>(parts: S, name: &str) -> axum::response::Response
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send + 'static,
{
    download(
        axum::body::Body::from_stream(parts),
        "text/csv; charset=utf-8",
        name,
    )
}

/// A file to download: `body` as `kind`, named `name`, never cached.
pub(crate) fn download(
    body: axum::body::Body,
    kind: &'static str,
    name: &str,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, kind.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_written_as_text_and_numbers_as_numbers() {
        for (cell, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+33 6 12", "'+33 6 12"),
            ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("-12.50", "-12.50"),
            ("+3", "+3"),
            ("Dupont", "Dupont"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(as_text(cell), written, "{cell:?}");
        }
        let bytes = csv_rows(UTF8_MARK.to_vec(), [["=1+1", "-4", "Léa"]].into_iter()).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), "\u{feff}'=1+1,-4,Léa\n");
    }
}
