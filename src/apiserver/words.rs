//! Splitting a shell-like flag string into words, as a POSIX shell would for a command line
//! pasted from a unit file, a script or `ps` output: blanks separate words; `'…'` is literal;
//! `"…"` keeps blanks and honours `\"`, `\\`, `\$`, `` \` `` and backslash-newline; outside
//! quotes a backslash escapes the next character and backslash-newline joins lines. No
//! expansion (`$VAR`, globs) is done.

use nom::branch::alt;
use nom::bytes::complete::{take_till1, take_while};
use nom::error::{Error, ErrorKind};
use nom::{IResult, Parser};

/// Why a flag string could not be split, and where (1-based character column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordsError {
    pub problem: String,
    pub column: usize,
}

/// Splits `s` into words. Fails only on an unterminated quote.
pub fn split_words(s: &str) -> Result<Vec<String>, WordsError> {
    let mut words = Vec::new();
    let mut rest = skip_blanks(s);
    while !rest.is_empty() {
        let mut word = String::new();
        let mut started = false;
        loop {
            match piece(rest) {
                Ok((after, Piece::Text(text))) => {
                    word.push_str(&text);
                    started = true;
                    rest = after;
                }
                Ok((after, Piece::Join)) => rest = after,
                Err(nom::Err::Failure(e)) => {
                    let column = s
                        .get(..s.len() - e.input.len())
                        .map_or(0, |p| p.chars().count())
                        + 1;
                    let quote = e.input.chars().next().unwrap_or('"');
                    return Err(WordsError {
                        problem: format!("unterminated {quote} quote"),
                        column,
                    });
                }
                // A blank (or the end) ends the word.
                Err(_) => break,
            }
        }
        if started {
            words.push(word);
        }
        rest = skip_blanks(rest);
    }
    Ok(words)
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Skips blanks and backslash-newline continuations between words.
fn skip_blanks(mut s: &str) -> &str {
    loop {
        let trimmed = s.trim_start_matches(is_blank);
        match trimmed
            .strip_prefix("\\\r\n")
            .or_else(|| trimmed.strip_prefix("\\\n"))
        {
            Some(after) => s = after,
            None => return trimmed,
        }
    }
}

enum Piece {
    Text(String),
    /// Backslash-newline inside a word: joins, adds nothing.
    Join,
}

fn piece(i: &str) -> IResult<&str, Piece> {
    alt((single_quoted, double_quoted, escaped, plain)).parse(i)
}

fn plain(i: &str) -> IResult<&str, Piece> {
    let (i, text) = take_till1(|c| is_blank(c) || matches!(c, '\'' | '"' | '\\')).parse(i)?;
    Ok((i, Piece::Text(text.to_string())))
}

fn escaped(i: &str) -> IResult<&str, Piece> {
    let Some(after) = i.strip_prefix('\\') else {
        return Err(nom::Err::Error(Error::new(i, ErrorKind::Char)));
    };
    if let Some(after) = after
        .strip_prefix("\r\n")
        .or_else(|| after.strip_prefix('\n'))
    {
        return Ok((after, Piece::Join));
    }
    let mut chars = after.chars();
    match chars.next() {
        Some(c) => Ok((chars.as_str(), Piece::Text(c.to_string()))),
        // A lone trailing backslash is kept, as shells do.
        None => Ok((after, Piece::Text("\\".to_string()))),
    }
}

fn single_quoted(i: &str) -> IResult<&str, Piece> {
    let Some(body) = i.strip_prefix('\'') else {
        return Err(nom::Err::Error(Error::new(i, ErrorKind::Char)));
    };
    let (after, text) = take_while(|c| c != '\'').parse(body)?;
    match after.strip_prefix('\'') {
        Some(after) => Ok((after, Piece::Text(text.to_string()))),
        None => Err(nom::Err::Failure(Error::new(i, ErrorKind::Char))),
    }
}

fn double_quoted(i: &str) -> IResult<&str, Piece> {
    let Some(body) = i.strip_prefix('"') else {
        return Err(nom::Err::Error(Error::new(i, ErrorKind::Char)));
    };
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((pos, c)) = chars.next() {
        match c {
            '"' => return Ok((body.get(pos + 1..).unwrap_or(""), Piece::Text(out))),
            '\\' => match chars.next() {
                Some((_, '\n')) => {}
                Some((_, e @ ('"' | '\\' | '$' | '`'))) => out.push(e),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(nom::Err::Failure(Error::new(i, ErrorKind::Char)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quoting_form() {
        let words = split_words(
            "kube-apiserver --a=b --c d \\\n  --e='x y' --f=\"p \\\"q\\\" \\$r\" --g=h\\ i --j=k\\\nl\r\n",
        )
        .unwrap();
        assert_eq!(
            words,
            [
                "kube-apiserver",
                "--a=b",
                "--c",
                "d",
                "--e=x y",
                "--f=p \"q\" $r",
                "--g=h i",
                "--j=kl"
            ]
        );
    }

    #[test]
    fn empty_quotes_make_an_empty_word() {
        assert_eq!(split_words("--a '' \"\"").unwrap(), ["--a", "", ""]);
        assert!(split_words("  \\\n ").unwrap().is_empty());
    }

    #[test]
    fn unterminated_quotes_name_the_column() {
        let e = split_words("--a=b --c='x y").unwrap_err();
        assert_eq!(e.problem, "unterminated ' quote");
        assert_eq!(e.column, 11);
        let e = split_words("--é=\"x").unwrap_err();
        assert_eq!(e.problem, "unterminated \" quote");
        assert_eq!(e.column, 5);
    }
}
