//! A PostgreSQL SQL tokenizer: just enough to split statements and rewrite
//! the PostgreSQL-only syntax (`$1`, `::type`, `E'…'`) without touching the
//! insides of strings, quoted names and comments.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Spaces and comments.
    Space,
    /// A keyword or an unquoted name.
    Word,
    /// A `"quoted name"`.
    QuotedName,
    /// A string literal: `'…'`, `E'…'` or `$tag$…$tag$`.
    String,
    /// A number literal.
    Number,
    /// A positional parameter, `$1`.
    Param,
    /// `::`.
    Cast,
    /// Any other punctuation or operator character(s).
    Symbol,
}

/// One token: its kind and its text in the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub(super) kind: Kind,
    pub(super) text: &'a str,
}

impl Token<'_> {
    /// Whether this is the keyword `word` (case-insensitive).
    pub(super) fn is_word(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }

    /// Whether this is the symbol `symbol`.
    pub(super) fn is_symbol(&self, symbol: &str) -> bool {
        self.kind == Kind::Symbol && self.text == symbol
    }
}

/// The SQL text could not be tokenized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LexError {
    /// What is wrong.
    pub(super) message: &'static str,
    /// Where (1-based character position, as ErrorResponse reports it).
    pub(super) position: u32,
}

/// Splits `sql` into tokens; every byte belongs to exactly one token.
pub(super) fn tokenize(sql: &str) -> Result<Vec<Token<'_>>, LexError> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let error = |message| LexError { message, position: sql[..start].chars().count() as u32 + 1 };
        let kind = match bytes[i] {
            b if b.is_ascii_whitespace() => {
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                Kind::Space
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                Kind::Space
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(bytes, i).ok_or_else(|| error("unterminated /* comment"))?;
                Kind::Space
            }
            b'\'' => {
                i = quoted_end(bytes, i, b'\'', false).ok_or_else(|| error("unterminated quoted string"))?;
                Kind::String
            }
            b'e' | b'E' if bytes.get(i + 1) == Some(&b'\'') => {
                i = quoted_end(bytes, i + 1, b'\'', true).ok_or_else(|| error("unterminated quoted string"))?;
                Kind::String
            }
            b'"' => {
                i = quoted_end(bytes, i, b'"', false).ok_or_else(|| error("unterminated quoted identifier"))?;
                Kind::QuotedName
            }
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                Kind::Param
            }
            b'$' => {
                i = dollar_quoted_end(sql, i).ok_or_else(|| error("unterminated dollar-quoted string"))?;
                Kind::String
            }
            b if b.is_ascii_digit() || (b == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                i = number_end(bytes, i);
                Kind::Number
            }
            b if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                Kind::Word
            }
            b':' if bytes.get(i + 1) == Some(&b':') => {
                i += 2;
                Kind::Cast
            }
            b if OPERATOR_CHARS.contains(&b) => {
                i = operator_end(bytes, i);
                Kind::Symbol
            }
            _ => {
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                Kind::Symbol
            }
        };
        tokens.push(Token { kind, text: &sql[start..i] });
    }
    Ok(tokens)
}

/// The characters PostgreSQL operators are made of.
const OPERATOR_CHARS: &[u8] = b"+-*/<>=~!@#%^&|`?";

/// The end of the operator starting at `i`, by PostgreSQL's rules: it stops
/// before a comment, and a multi-character operator ends in `+` or `-` only
/// if it holds one of ``~!@#%^&|`?`` (so `=-1` is `=` then `-1`).
fn operator_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && OPERATOR_CHARS.contains(&bytes[end]) {
        if end > start && (bytes[end..].starts_with(b"--") || bytes[end..].starts_with(b"/*")) {
            break;
        }
        end += 1;
    }
    let op = &bytes[start..end];
    if op.len() > 1 && !op.iter().any(|b| b"~!@#%^&|`?".contains(b)) {
        while end > start + 1 && matches!(bytes[end - 1], b'+' | b'-') {
            end -= 1;
        }
    }
    end
}

fn block_comment_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    // PostgreSQL's block comments nest.
    let mut depth = 0;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The end of a `quote`-delimited run starting at `i`; a doubled quote is an
/// escaped one, and so is a backslashed one when `backslashes`.
fn quoted_end(bytes: &[u8], mut i: usize, quote: u8, backslashes: bool) -> Option<usize> {
    i += 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslashes => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn dollar_quoted_end(sql: &str, i: usize) -> Option<usize> {
    let rest = &sql[i + 1..];
    let tag_len = rest.find('$')?;
    let tag = &rest[..tag_len];
    if !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let delimiter = &sql[i..i + tag_len + 2];
    let body = i + delimiter.len();
    sql[body..].find(delimiter).map(|end| body + end + delimiter.len())
}

fn number_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'_') {
        i += 1;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        if j < bytes.len() && bytes[j].is_ascii_digit() {
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// The statements of a simple Query, split at top-level semicolons; empty
/// ones (only spaces and comments) are dropped.
pub(super) fn split_statements<'a>(tokens: &[Token<'a>]) -> Vec<Vec<Token<'a>>> {
    let mut statements = Vec::new();
    let mut current = Vec::new();
    let mut depth = 0i32;
    for token in tokens {
        match token.kind {
            Kind::Symbol if token.text == "(" => depth += 1,
            Kind::Symbol if token.text == ")" => depth -= 1,
            Kind::Symbol if token.text == ";" && depth <= 0 => {
                if current.iter().any(|t: &Token<'_>| t.kind != Kind::Space) {
                    statements.push(std::mem::take(&mut current));
                }
                current.clear();
                depth = 0;
                continue;
            }
            _ => {}
        }
        current.push(*token);
    }
    if current.iter().any(|t| t.kind != Kind::Space) {
        statements.push(current);
    }
    statements
}

/// The tokens without spaces and comments.
pub(super) fn significant<'a>(tokens: &[Token<'a>]) -> Vec<Token<'a>> {
    tokens.iter().copied().filter(|t| t.kind != Kind::Space).collect()
}

/// The text of a string literal token, unquoted and unescaped.
pub(super) fn string_value(token: &str) -> String {
    if let Some(body) = token.strip_prefix('$') {
        let tag_end = body.find('$').unwrap_or(0);
        let inner = &body[tag_end + 1..];
        return inner[..inner.len().saturating_sub(tag_end + 2)].to_owned();
    }
    if let Some(body) = token.strip_prefix(['e', 'E']) {
        return unescape_backslashes(&body[1..body.len() - 1]);
    }
    token[1..token.len() - 1].replace("''", "'")
}

/// The name a word or quoted-name token stands for: quoted names keep their
/// case, bare words fold to lower case, as in PostgreSQL.
pub(super) fn name_value(token: &Token<'_>) -> String {
    match token.kind {
        Kind::QuotedName => token.text[1..token.text.len() - 1].replace("\"\"", "\""),
        _ => token.text.to_lowercase(),
    }
}

fn unescape_backslashes(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some(other) => out.push(other),
                None => {}
            },
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` as an SQLite string literal.
pub(super) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        tokenize(sql).unwrap().into_iter().filter(|t| t.kind != Kind::Space).map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn tokens_of_postgres_syntax() {
        assert_eq!(
            kinds("SELECT $1::int4, 'it''s', E'a\\'b', $$x;y$$, \"Na\"\"me\" -- c;\n/* a /* b */ ; */ 1.5e3"),
            vec![
                (Kind::Word, "SELECT"),
                (Kind::Param, "$1"),
                (Kind::Cast, "::"),
                (Kind::Word, "int4"),
                (Kind::Symbol, ","),
                (Kind::String, "'it''s'"),
                (Kind::Symbol, ","),
                (Kind::String, "E'a\\'b'"),
                (Kind::Symbol, ","),
                (Kind::String, "$$x;y$$"),
                (Kind::Symbol, ","),
                (Kind::QuotedName, "\"Na\"\"me\""),
                (Kind::Number, "1.5e3"),
            ]
        );
    }

    #[test]
    fn operators_are_whole() {
        assert_eq!(
            kinds("a>=1 and b||c <> d and e=-1 and f*-2"),
            vec![
                (Kind::Word, "a"),
                (Kind::Symbol, ">="),
                (Kind::Number, "1"),
                (Kind::Word, "and"),
                (Kind::Word, "b"),
                (Kind::Symbol, "||"),
                (Kind::Word, "c"),
                (Kind::Symbol, "<>"),
                (Kind::Word, "d"),
                (Kind::Word, "and"),
                (Kind::Word, "e"),
                (Kind::Symbol, "="),
                (Kind::Symbol, "-"),
                (Kind::Number, "1"),
                (Kind::Word, "and"),
                (Kind::Word, "f"),
                (Kind::Symbol, "*"),
                (Kind::Symbol, "-"),
                (Kind::Number, "2"),
            ]
        );
        assert_eq!(kinds("1--comment\n"), vec![(Kind::Number, "1")]);
    }

    #[test]
    fn statements_split_outside_quotes() {
        let tokens = tokenize("select ';'; ; select 2 -- ;\n;").unwrap();
        let statements = split_statements(&tokens);
        assert_eq!(statements.len(), 2);
        assert_eq!(significant(&statements[0])[1].text, "';'");
    }

    #[test]
    fn unterminated_literals_are_errors() {
        assert_eq!(tokenize("select 'abc").unwrap_err().position, 8);
        assert!(tokenize("select \"abc").is_err());
        assert!(tokenize("/* open").is_err());
        assert!(tokenize("select $a$ x").is_err());
    }

    #[test]
    fn string_values() {
        assert_eq!(string_value("'it''s'"), "it's");
        assert_eq!(string_value("E'a\\nb\\'c'"), "a\nb'c");
        assert_eq!(string_value("$t$x'y$t$"), "x'y");
        assert_eq!(string_value("$$$$"), "");
    }
}
