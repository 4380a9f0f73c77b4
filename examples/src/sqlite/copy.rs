//! COPY: the statement's parts and options, and the text and CSV formats
//! both ways (PostgreSQL's rules for escapes, quoting and NULL).

use postwire_server::codec::{Format, SqlState};
use postwire_server::{PgError, Value};

use super::lexer::{Kind, Token, name_value, string_value};

/// What is copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CopySource {
    /// A table, all its columns or these.
    Table { name: String, columns: Option<Vec<String>> },
    /// `COPY (query) TO STDOUT`: the query's PostgreSQL SQL.
    Query(String),
}

/// A parsed `COPY … FROM STDIN` / `COPY … TO STDOUT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CopyStatement {
    /// The table or query.
    pub(super) source: CopySource,
    /// `FROM STDIN` (else `TO STDOUT`).
    pub(super) from_client: bool,
    /// The format's options.
    pub(super) options: CopyOptions,
}

/// The options of the text and CSV formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CopyOptions {
    /// CSV (else text).
    pub(super) csv: bool,
    /// A header line (CSV only, as in PostgreSQL before 15; both here).
    pub(super) header: bool,
    /// The field separator: tab for text, comma for CSV.
    pub(super) delimiter: char,
    /// How NULL is written: `\N` for text, an unquoted empty field for CSV.
    pub(super) null: String,
    /// CSV quote character.
    pub(super) quote: char,
    /// CSV escape character (within quotes).
    pub(super) escape: char,
}

impl CopyOptions {
    fn text() -> Self {
        CopyOptions { csv: false, header: false, delimiter: '\t', null: "\\N".into(), quote: '"', escape: '"' }
    }
}

fn syntax_error(near: Option<&Token<'_>>) -> PgError {
    match near {
        Some(t) => PgError::new(SqlState::SYNTAX_ERROR, format!("syntax error at or near \"{}\"", t.text)),
        None => PgError::new(SqlState::SYNTAX_ERROR, "syntax error at end of input"),
    }
}

fn single_char(value: &str, what: &str) -> Result<char, PgError> {
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c != '\r' && c != '\n' => Ok(c),
        _ => Err(PgError::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("COPY {what} must be a single one-byte character"),
        )),
    }
}

/// Parses a COPY statement (significant tokens, `COPY` first).
pub(super) fn parse_copy(sig: &[Token<'_>]) -> Result<CopyStatement, PgError> {
    let mut i = 1;
    let source = match sig.get(i) {
        Some(t) if t.is_symbol("(") => {
            let close = (i..sig.len())
                .scan(0i32, |depth, j| {
                    *depth += i32::from(sig[j].is_symbol("(")) - i32::from(sig[j].is_symbol(")"));
                    Some((j, *depth))
                })
                .find(|&(_, depth)| depth == 0)
                .map(|(j, _)| j)
                .ok_or_else(|| syntax_error(None))?;
            let mut query = String::new();
            for (j, t) in sig[i + 1..close].iter().enumerate() {
                // Spaces between tokens, except inside operators such as `<=`.
                let operator = |t: &Token<'_>| t.kind == Kind::Symbol && "<>=!".contains(t.text);
                if j > 0 && !(operator(t) && operator(&sig[i + j])) {
                    query.push(' ');
                }
                query.push_str(t.text);
            }
            i = close + 1;
            CopySource::Query(query)
        }
        Some(t) if matches!(t.kind, Kind::Word | Kind::QuotedName) => {
            let mut name = name_value(t);
            i += 1;
            if sig.get(i).is_some_and(|t| t.is_symbol(".")) {
                name = name_value(sig.get(i + 1).ok_or_else(|| syntax_error(None))?);
                i += 2;
            }
            let mut columns = None;
            if sig.get(i).is_some_and(|t| t.is_symbol("(")) {
                let mut names = Vec::new();
                i += 1;
                loop {
                    match sig.get(i) {
                        Some(t) if matches!(t.kind, Kind::Word | Kind::QuotedName) => names.push(name_value(t)),
                        other => return Err(syntax_error(other)),
                    }
                    i += 1;
                    match sig.get(i) {
                        Some(t) if t.is_symbol(",") => i += 1,
                        Some(t) if t.is_symbol(")") => break,
                        other => return Err(syntax_error(other)),
                    }
                }
                i += 1;
                columns = Some(names);
            }
            CopySource::Table { name, columns }
        }
        other => return Err(syntax_error(other)),
    };
    let from_client = match sig.get(i) {
        Some(t) if t.is_word("from") => true,
        Some(t) if t.is_word("to") => false,
        other => return Err(syntax_error(other)),
    };
    if from_client && matches!(source, CopySource::Query(_)) {
        return Err(syntax_error(sig.get(i)));
    }
    match sig.get(i + 1) {
        Some(t) if t.is_word("stdin") || t.is_word("stdout") => {
            if t.is_word("stdin") != from_client {
                return Err(syntax_error(Some(t)));
            }
        }
        Some(t) if t.kind == Kind::String || t.is_word("program") => {
            return Err(PgError::new(
                SqlState::INSUFFICIENT_PRIVILEGE,
                "COPY to or from a file or program is not allowed here",
            )
            .with_hint("Use COPY … FROM STDIN or TO STDOUT (psql's \\copy does)."));
        }
        other => return Err(syntax_error(other)),
    }
    let options = parse_options(&sig[i + 2..])?;
    Ok(CopyStatement { source, from_client, options })
}

/// `[WITH] (option value, …)` or the pre-9.0 `[WITH] [BINARY] [CSV] [HEADER]
/// [DELIMITER [AS] 'c'] [NULL [AS] 's'] [QUOTE [AS] 'c'] [ESCAPE [AS] 'c']`.
fn parse_options(sig: &[Token<'_>]) -> Result<CopyOptions, PgError> {
    let mut sig = sig;
    if sig.first().is_some_and(|t| t.is_word("with")) {
        sig = &sig[1..];
    }
    let mut pairs: Vec<(String, Option<String>)> = Vec::new();
    if sig.first().is_some_and(|t| t.is_symbol("(")) {
        let close = sig.iter().position(|t| t.is_symbol(")")).ok_or_else(|| syntax_error(None))?;
        if close + 1 != sig.len() {
            return Err(syntax_error(sig.get(close + 1)));
        }
        for option in sig[1..close].split(|t| t.is_symbol(",")) {
            match option {
                [name] => pairs.push((name.text.to_ascii_lowercase(), None)),
                [name, value] => {
                    let value =
                        if value.kind == Kind::String { string_value(value.text) } else { value.text.to_owned() };
                    pairs.push((name.text.to_ascii_lowercase(), Some(value)));
                }
                [] => return Err(syntax_error(None)),
                [_, _, extra, ..] => return Err(syntax_error(Some(extra))),
            }
        }
    } else {
        let mut j = 0;
        while j < sig.len() {
            let name = sig[j].text.to_ascii_lowercase();
            j += 1;
            match name.as_str() {
                "binary" => pairs.push(("format".into(), Some("binary".into()))),
                "csv" => pairs.push(("format".into(), Some("csv".into()))),
                "header" => pairs.push(("header".into(), None)),
                "delimiter" | "null" | "quote" | "escape" => {
                    if sig.get(j).is_some_and(|t| t.is_word("as")) {
                        j += 1;
                    }
                    match sig.get(j) {
                        Some(t) if t.kind == Kind::String => pairs.push((name, Some(string_value(t.text)))),
                        other => return Err(syntax_error(other)),
                    }
                    j += 1;
                }
                _ => return Err(syntax_error(Some(&sig[j - 1]))),
            }
        }
    }
    let format = pairs.iter().find(|(n, _)| n == "format").and_then(|(_, v)| v.clone());
    let mut options = CopyOptions::text();
    match format.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("text") => {}
        Some("csv") => {
            options = CopyOptions { csv: true, delimiter: ',', null: String::new(), ..options };
        }
        Some("binary") => {
            return Err(PgError::new(SqlState::FEATURE_NOT_SUPPORTED, "COPY in the binary format is not supported"));
        }
        Some(other) => {
            return Err(PgError::new(
                SqlState::INVALID_PARAMETER_VALUE,
                format!("COPY format \"{other}\" not recognized"),
            ));
        }
    }
    for (name, value) in pairs {
        match (name.as_str(), value) {
            ("format", _) => {}
            ("header", value) => {
                options.header =
                    !matches!(value.as_deref().map(str::to_ascii_lowercase).as_deref(), Some("false" | "off" | "0"));
            }
            ("delimiter", Some(v)) => options.delimiter = single_char(&v, "delimiter")?,
            ("null", Some(v)) => options.null = v,
            ("quote", Some(v)) => options.quote = single_char(&v, "quote")?,
            ("escape", Some(v)) => options.escape = single_char(&v, "escape")?,
            ("encoding", Some(v)) if v.eq_ignore_ascii_case("utf8") || v.eq_ignore_ascii_case("utf-8") => {}
            (other, _) => {
                return Err(PgError::new(SqlState::SYNTAX_ERROR, format!("option \"{other}\" not recognized")));
            }
        }
    }
    Ok(options)
}

/// Writes one row of COPY output (the line with its newline).
pub(super) fn encode_row(values: &[Value], options: &CopyOptions) -> Result<Vec<u8>, PgError> {
    let mut line = Vec::new();
    let mut text = Vec::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            push_char(&mut line, options.delimiter);
        }
        if let Value::Null = value {
            line.extend_from_slice(options.null.as_bytes());
            continue;
        }
        text.clear();
        value
            .encode(Format::Text, &mut text)
            .map_err(|e| PgError::new(SqlState::INTERNAL_ERROR, format!("could not format a value: {e}")))?;
        let text = String::from_utf8_lossy(&text);
        if options.csv {
            encode_csv_field(&mut line, &text, options);
        } else {
            encode_text_field(&mut line, &text, options.delimiter);
        }
    }
    line.push(b'\n');
    Ok(line)
}

/// A header line: the column names.
pub(super) fn encode_header(names: &[String], options: &CopyOptions) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            push_char(&mut line, options.delimiter);
        }
        if options.csv {
            encode_csv_field(&mut line, name, options);
        } else {
            encode_text_field(&mut line, name, options.delimiter);
        }
    }
    line.push(b'\n');
    line
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn encode_text_field(out: &mut Vec<u8>, text: &str, delimiter: char) {
    for c in text.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' if delimiter == '\t' => out.extend_from_slice(b"\\t"),
            c if c == delimiter => {
                out.push(b'\\');
                push_char(out, c);
            }
            c => push_char(out, c),
        }
    }
}

fn encode_csv_field(out: &mut Vec<u8>, text: &str, options: &CopyOptions) {
    let needs_quotes = text == options.null
        || text == "\\."
        || text.chars().any(|c| c == options.delimiter || c == options.quote || c == '\n' || c == '\r');
    if !needs_quotes {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    push_char(out, options.quote);
    for c in text.chars() {
        if c == options.quote || c == options.escape {
            push_char(out, options.escape);
        }
        push_char(out, c);
    }
    push_char(out, options.quote);
}

/// Splits COPY FROM data, arriving in chunks of any size, into rows of
/// fields (`None`: NULL).
#[derive(Debug)]
pub(super) struct RowParser {
    options: CopyOptions,
    pending: Vec<u8>,
    /// Lines consumed so far (for error messages).
    pub(super) line: u64,
    header_skipped: bool,
    ended: bool,
}

/// A row of COPY input.
pub(super) type Fields = Vec<Option<String>>;

impl RowParser {
    /// A parser for `options`.
    pub(super) fn new(options: CopyOptions) -> Self {
        let header_skipped = !options.header;
        RowParser { options, pending: Vec::new(), line: 0, header_skipped, ended: false }
    }

    /// Adds data and returns the rows it completes.
    pub(super) fn push(&mut self, data: &[u8]) -> Result<Vec<Fields>, PgError> {
        self.pending.extend_from_slice(data);
        let mut rows = Vec::new();
        let mut start = 0;
        while let Some(end) = self.record_end(start) {
            let record = self.pending[start..end].to_vec();
            start = end + 1;
            if let Some(row) = self.record(&record)? {
                rows.push(row);
            }
        }
        self.pending.drain(..start);
        Ok(rows)
    }

    /// The end of input: the last row, if it had no newline.
    pub(super) fn finish(&mut self) -> Result<Option<Fields>, PgError> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        if self.options.csv && self.record_end(0).is_none() && self.in_quotes(self.pending.len()) {
            return Err(self.error("unterminated CSV quoted field"));
        }
        let record = std::mem::take(&mut self.pending);
        self.record(&record)
    }

    fn in_quotes(&self, end: usize) -> bool {
        let quote = self.options.quote as u8;
        self.pending[..end].iter().filter(|&&b| b == quote).count() % 2 == 1
    }

    /// Where the record starting at `start` ends (its `\n`), if complete.
    fn record_end(&self, start: usize) -> Option<usize> {
        let data = &self.pending[start..];
        if !self.options.csv {
            return data.iter().position(|&b| b == b'\n').map(|p| start + p);
        }
        let quote = self.options.quote as u8;
        let escape = self.options.escape as u8;
        let mut quoted = false;
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            if quoted && b == escape && escape != quote && data.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            if b == quote {
                quoted = !quoted;
            } else if b == b'\n' && !quoted {
                return Some(start + i);
            }
            i += 1;
        }
        None
    }

    fn error(&self, message: &str) -> PgError {
        PgError::new(SqlState::BAD_COPY_FILE_FORMAT, message).with_detail(format!("COPY line {}", self.line))
    }

    fn record(&mut self, record: &[u8]) -> Result<Option<Fields>, PgError> {
        self.line += 1;
        let record = record.strip_suffix(b"\r").unwrap_or(record);
        if self.ended {
            return Ok(None);
        }
        if record == b"\\." {
            self.ended = true;
            return Ok(None);
        }
        let text = std::str::from_utf8(record).map_err(|_| {
            PgError::new(SqlState::CHARACTER_NOT_IN_REPERTOIRE, "invalid byte sequence for encoding \"UTF8\"")
        })?;
        let fields = if self.options.csv { self.csv_fields(text)? } else { self.text_fields(text)? };
        if !self.header_skipped {
            self.header_skipped = true;
            return Ok(None);
        }
        Ok(Some(fields))
    }

    fn text_fields(&self, line: &str) -> Result<Fields, PgError> {
        let delimiter = self.options.delimiter;
        let mut fields = Vec::new();
        let mut raw = String::new();
        let mut chars = line.chars().peekable();
        let mut field = String::new();
        let finish = |field: &mut String, raw: &mut String, fields: &mut Fields| {
            fields.push(if *raw == self.options.null { None } else { Some(std::mem::take(field)) });
            field.clear();
            raw.clear();
        };
        while let Some(c) = chars.next() {
            if c == delimiter {
                finish(&mut field, &mut raw, &mut fields);
                continue;
            }
            raw.push(c);
            if c != '\\' {
                field.push(c);
                continue;
            }
            let Some(e) = chars.next() else { return Err(self.error("end-of-copy marker corrupt")) };
            raw.push(e);
            match e {
                'b' => field.push('\u{8}'),
                'f' => field.push('\u{c}'),
                'n' => field.push('\n'),
                'r' => field.push('\r'),
                't' => field.push('\t'),
                'v' => field.push('\u{b}'),
                'x' => {
                    let mut value = 0u32;
                    let mut digits = 0;
                    while digits < 2 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
                        value = value * 16 + chars.next().and_then(|d| d.to_digit(16)).unwrap_or(0);
                        digits += 1;
                    }
                    if digits == 0 {
                        field.push('x');
                    } else {
                        field.push(char::from_u32(value).unwrap_or('\u{fffd}'));
                    }
                }
                '0'..='7' => {
                    let mut value = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match chars.peek().and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                value = value * 8 + d;
                                chars.next();
                            }
                            None => break,
                        }
                    }
                    field.push(char::from_u32(value).unwrap_or('\u{fffd}'));
                }
                other => field.push(other),
            }
        }
        finish(&mut field, &mut raw, &mut fields);
        Ok(fields)
    }

    fn csv_fields(&self, record: &str) -> Result<Fields, PgError> {
        let CopyOptions { delimiter, quote, escape, .. } = self.options;
        let mut fields = Vec::new();
        let mut chars = record.chars().peekable();
        let mut field = String::new();
        let mut quoted_any = false;
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                c if quoted && c == escape && escape != quote && chars.peek() == Some(&quote) => {
                    chars.next();
                    field.push(quote);
                }
                c if quoted && c == quote && escape == quote && chars.peek() == Some(&quote) => {
                    chars.next();
                    field.push(quote);
                }
                c if c == quote => {
                    quoted = !quoted;
                    quoted_any = true;
                }
                c if c == delimiter && !quoted => {
                    fields.push(self.csv_value(std::mem::take(&mut field), quoted_any));
                    quoted_any = false;
                }
                c => field.push(c),
            }
        }
        if quoted {
            return Err(self.error("unterminated CSV quoted field"));
        }
        fields.push(self.csv_value(field, quoted_any));
        Ok(fields)
    }

    fn csv_value(&self, field: String, quoted: bool) -> Option<String> {
        (quoted || field != self.options.null).then_some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::{significant, tokenize};
    use super::*;

    fn parse(sql: &str) -> Result<CopyStatement, PgError> {
        parse_copy(&significant(&tokenize(sql).unwrap()))
    }

    #[test]
    fn copy_statements_parse() {
        let copy = parse("COPY t (a, \"B\") FROM STDIN WITH (FORMAT csv, HEADER, DELIMITER ';')").unwrap();
        assert_eq!(copy.source, CopySource::Table { name: "t".into(), columns: Some(vec!["a".into(), "B".into()]) });
        assert!(copy.from_client && copy.options.csv && copy.options.header);
        assert_eq!(copy.options.delimiter, ';');
        let copy = parse("copy public.t to stdout csv header null 'NULL'").unwrap();
        assert_eq!(copy.options.null, "NULL");
        assert!(!copy.from_client);
        let copy = parse("COPY (SELECT 1, 'a') TO STDOUT").unwrap();
        assert_eq!(copy.source, CopySource::Query("SELECT 1 , 'a'".into()));
        assert_eq!(parse("COPY t FROM '/etc/passwd'").unwrap_err().code, SqlState::INSUFFICIENT_PRIVILEGE);
        assert_eq!(parse("COPY t FROM STDIN (FORMAT binary)").unwrap_err().code, SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(parse("COPY t FROM STDOUT").unwrap_err().code, SqlState::SYNTAX_ERROR);
    }

    #[test]
    fn text_rows_round_trip() {
        let options = CopyOptions::text();
        let row = vec![Value::Int4(1), Value::Text("a\tb\\c\nd".into()), Value::Null];
        let line = encode_row(&row, &options).unwrap();
        assert_eq!(line, b"1\ta\\tb\\\\c\\nd\t\\N\n");
        let mut parser = RowParser::new(options);
        let (first, second) = line.split_at(5);
        assert!(parser.push(first).unwrap().is_empty());
        let rows = parser.push(second).unwrap();
        assert_eq!(rows, vec![vec![Some("1".into()), Some("a\tb\\c\nd".into()), None]]);
        assert_eq!(parser.push(b"\\.\n").unwrap(), Vec::<Fields>::new());
    }

    #[test]
    fn csv_rows_round_trip() {
        let options = parse("COPY t FROM STDIN CSV HEADER").unwrap().options;
        let row = vec![Value::Text("x,\"y\"\nz".into()), Value::Text(String::new()), Value::Null];
        let line = encode_row(&row, &options).unwrap();
        assert_eq!(line, b"\"x,\"\"y\"\"\nz\",\"\",\n");
        let mut parser = RowParser::new(options);
        assert!(parser.push(b"a,b,c\n").unwrap().is_empty(), "the header is skipped");
        let mut rows = Vec::new();
        for byte in &line {
            rows.extend(parser.push(std::slice::from_ref(byte)).unwrap());
        }
        assert_eq!(rows, vec![vec![Some("x,\"y\"\nz".into()), Some(String::new()), None]]);
        assert_eq!(parser.push(b"1,2").unwrap(), Vec::<Fields>::new());
        assert_eq!(parser.finish().unwrap(), Some(vec![Some("1".into()), Some("2".into())]));
    }
}
