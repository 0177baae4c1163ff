//! A tokenizer for the generated Go and Java sources: just enough to find declarations.
//! It never fails: anything it does not recognise becomes a one-character [`Token::Punct`],
//! and an unterminated literal ends at the end of its line.

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// An identifier, keyword or number (`OrderSearchListParam`, `int64`, `20`).
    Word(String),
    /// A string or character literal with its escapes decoded; Go raw strings included.
    Str(String),
    /// Any other character (`{`, `*`, `@`, `<`, ...).
    Punct(char),
    /// A line break; only produced for Go, where it ends a struct field.
    Newline,
}

/// Which language's lexical rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// Backquoted raw strings and significant line breaks.
    Go,
    /// Line breaks are whitespace.
    Java,
}

/// Splits a source file into tokens, dropping comments and whitespace.
pub(crate) fn tokenize(text: &str, syntax: Syntax) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => {
                if syntax == Syntax::Go && tokens.last() != Some(&Token::Newline) {
                    tokens.push(Token::Newline);
                }
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if next == Some('/') => {
                while chars.get(i).is_some_and(|&c| c != '\n') {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    // A block comment spanning lines still ends a Go field line.
                    if chars[i] == '\n' && syntax == Syntax::Go && tokens.last() != Some(&Token::Newline) {
                        tokens.push(Token::Newline);
                    }
                    i += 1;
                }
                i += 2;
            }
            '"' | '\'' => {
                let (value, end) = quoted(&chars, i + 1, c);
                tokens.push(Token::Str(value));
                i = end;
            }
            '`' if syntax == Syntax::Go => {
                let start = i + 1;
                let mut end = start;
                while chars.get(end).is_some_and(|&c| c != '`') {
                    end += 1;
                }
                tokens.push(Token::Str(chars[start..end.min(chars.len())].iter().collect()));
                i = end + 1;
            }
            c if is_word_char(c) => {
                let start = i;
                while chars.get(i).is_some_and(|&c| is_word_char(c)) {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
            c => {
                tokens.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    tokens
}

fn is_word_char(c: char) -> bool {
    c == '_' || c == '$' || c.is_alphanumeric()
}

/// Reads a quoted literal from `start` (just after the opening quote); returns the decoded
/// text and the index after the closing quote (or the end of the line when unterminated).
fn quoted(chars: &[char], start: usize, quote: char) -> (String, usize) {
    let mut out = String::new();
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        match c {
            c if c == quote => return (out, i + 1),
            '\n' => return (out, i),
            '\\' => {
                let escaped = chars.get(i + 1).copied();
                i += 2;
                match escaped {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('u') => {
                        let hex: String = chars.get(i..i + 4).map(|h| h.iter().collect()).unwrap_or_default();
                        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                            Some(decoded) => {
                                out.push(decoded);
                                i += 4;
                            }
                            None => out.push('u'),
                        }
                    }
                    Some(other) => out.push(other),
                    None => {}
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    (out, i)
}

/// The index of the token that closes the bracket opened at `open` (`{`/`}`, `(`/`)`,
/// `[`/`]`, `<`/`>`), or the end of the tokens when it is never closed.
pub(crate) fn matching(tokens: &[Token], open: usize) -> usize {
    let (left, right) = match tokens.get(open) {
        Some(Token::Punct('{')) => ('{', '}'),
        Some(Token::Punct('(')) => ('(', ')'),
        Some(Token::Punct('[')) => ('[', ']'),
        Some(Token::Punct('<')) => ('<', '>'),
        _ => return open,
    };
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Punct(c) if *c == left => depth += 1,
            Token::Punct(c) if *c == right => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The source text of some tokens, for notes (`map [ bool ] T` style spacing is fine).
pub(crate) fn describe(tokens: &[Token]) -> String {
    let mut out = String::new();
    for token in tokens {
        let piece = match token {
            Token::Word(w) => w.clone(),
            Token::Str(s) => format!("{s:?}"),
            Token::Punct(c) => c.to_string(),
            Token::Newline => continue,
        };
        let glue =
            matches!(token, Token::Punct(_)) || out.ends_with(|c: char| !is_word_char(c) && !matches!(c, '"' | ','));
        if !out.is_empty() && !glue {
            out.push(' ');
        }
        out.push_str(&piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, syntax: Syntax) -> Vec<Token> {
        tokenize(text, syntax)
    }

    #[test]
    fn comments_strings_and_lines() {
        let tokens = words("A *int64 `json:\"a\"` // note\n/* x\ny */ B string\n", Syntax::Go);
        assert_eq!(
            tokens,
            vec![
                Token::Word("A".into()),
                Token::Punct('*'),
                Token::Word("int64".into()),
                Token::Str("json:\"a\"".into()),
                Token::Newline,
                Token::Word("B".into()),
                Token::Word("string".into()),
                Token::Newline,
            ]
        );
        let java = words(r#"@OpField(desc = "say \"hi\" \u4e2d", example= "1") // x"#, Syntax::Java);
        assert!(java.contains(&Token::Str("say \"hi\" 中".into())), "{java:?}");
        assert!(!java.contains(&Token::Newline));
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for text in ["\"abc", "`abc", "/* abc", "'\\", "\"\\u12", "a /"] {
            tokenize(text, Syntax::Go);
            tokenize(text, Syntax::Java);
        }
        assert_eq!(matching(&tokenize("{ { }", Syntax::Java), 0), 3);
    }

    #[test]
    fn describe_reads_like_source() {
        assert_eq!(describe(&tokenize("map[bool]chan int", Syntax::Go)), "map[bool]chan int");
        assert_eq!(describe(&tokenize("java.util.Date", Syntax::Java)), "java.util.Date");
        assert_eq!(describe(&tokenize("Map<String, Foo>", Syntax::Java)), "Map<String, Foo>");
    }
}
