//! A small VTQL subset, enough for what CRM adapters send.
//!
//! Grammar (contracts notes §2.4, [3P]):
//! `SELECT <* | col, col | COUNT(*)> FROM <Module> [WHERE <cond> [AND|OR
//! <cond>]...] [ORDER BY <col> [ASC|DESC]] [LIMIT [offset,] n];` with
//! conditions `col = v`, `col != v` (also `<>`), `col < v`, `col > v`,
//! `col [NOT] LIKE 'pattern'` and `col [NOT] IN ('a', 'b')`. Keywords are
//! case-insensitive; module and column names are exact. `AND` binds tighter
//! than `OR`, as in SQL. The trailing `;` is mandatory and at most 100 rows
//! come back (`LIMIT` above 100 is capped, no `LIMIT` means 100), as
//! third-party clients rely on.
//!
//! Inferred: string comparisons are case-insensitive (MySQL's default
//! collation, which Vtiger uses); `<`/`>` and `ORDER BY` compare numerically
//! when both sides are numbers; `id` is always returned with selected
//! columns; `COUNT(*)` returns `[{"count":"N"}]`.

use std::cmp::Ordering;

use crate::store::{Module, Row};

/// The most rows one query returns.
pub const MAX_ROWS: usize = 100;

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryError {
    /// The text does not parse (code `QUERY_SYNTAX_ERROR`).
    Syntax(String),
    /// No such module (code `INVALID_MODULE`).
    UnknownModule(String),
    /// No such column in the module (code `QUERY_SYNTAX_ERROR`).
    UnknownColumn(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(String),
    Sym(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let quote = c;
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(QueryError::Syntax("unterminated string".into()));
                    }
                    Some('\\') if i + 1 < chars.len() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(&q) if q == quote => {
                        if chars.get(i + 1) == Some(&quote) {
                            value.push(quote);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&other) => {
                        value.push(other);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Str(value));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Num(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let sym = match two.as_str() {
                "!=" => Some("!="),
                "<>" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(sym) = sym {
                tokens.push(Token::Sym(sym));
                i += 2;
                continue;
            }
            let sym = match c {
                '*' => "*",
                ',' => ",",
                '(' => "(",
                ')' => ")",
                ';' => ";",
                '=' => "=",
                '<' => "<",
                '>' => ">",
                other => {
                    return Err(QueryError::Syntax(format!(
                        "unexpected character '{other}'"
                    )));
                }
            };
            tokens.push(Token::Sym(sym));
            i += 1;
        }
    }
    Ok(tokens)
}

#[derive(Debug, Clone, PartialEq)]
enum Selection {
    All,
    Count,
    Columns(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like(bool),
    In(bool),
}

#[derive(Debug, Clone, PartialEq)]
struct Cond {
    column: String,
    op: Op,
    values: Vec<String>,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    selection: Selection,
    module: Module,
    /// OR of ANDs.
    filter: Vec<Vec<Cond>>,
    order: Option<(String, bool)>,
    offset: usize,
    limit: usize,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        let yes = self.is_keyword(kw);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), QueryError> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(QueryError::Syntax(format!("expected {kw}")))
        }
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let yes = matches!(self.peek(), Some(Token::Sym(s)) if *s == sym);
        if yes {
            self.pos += 1;
        }
        yes
    }

    fn expect_sym(&mut self, sym: &str) -> Result<(), QueryError> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            Err(QueryError::Syntax(format!("expected '{sym}'")))
        }
    }

    fn ident(&mut self) -> Result<String, QueryError> {
        match self.next() {
            Some(Token::Word(w)) if !is_reserved(&w) => Ok(w),
            _ => Err(QueryError::Syntax("expected a name".into())),
        }
    }

    fn value(&mut self) -> Result<String, QueryError> {
        match self.next() {
            Some(Token::Str(s)) | Some(Token::Num(s)) => Ok(s),
            _ => Err(QueryError::Syntax("expected a quoted value".into())),
        }
    }

    fn number(&mut self) -> Result<usize, QueryError> {
        match self.next() {
            Some(Token::Num(n)) => n
                .parse()
                .map_err(|_| QueryError::Syntax(format!("bad number {n}"))),
            _ => Err(QueryError::Syntax("expected a number".into())),
        }
    }

    fn cond(&mut self) -> Result<Cond, QueryError> {
        let column = self.ident()?;
        let negated = self.eat_keyword("NOT");
        let op = if self.eat_keyword("LIKE") {
            Op::Like(negated)
        } else if self.eat_keyword("IN") {
            Op::In(negated)
        } else if negated {
            return Err(QueryError::Syntax("expected LIKE or IN after NOT".into()));
        } else {
            match self.next() {
                Some(Token::Sym("=")) => Op::Eq,
                Some(Token::Sym("!=")) => Op::Ne,
                Some(Token::Sym("<")) => Op::Lt,
                Some(Token::Sym("<=")) => Op::Le,
                Some(Token::Sym(">")) => Op::Gt,
                Some(Token::Sym(">=")) => Op::Ge,
                _ => return Err(QueryError::Syntax("expected an operator".into())),
            }
        };
        let values = if matches!(op, Op::In(_)) {
            self.expect_sym("(")?;
            let mut values = vec![self.value()?];
            while self.eat_sym(",") {
                values.push(self.value()?);
            }
            self.expect_sym(")")?;
            values
        } else {
            vec![self.value()?]
        };
        Ok(Cond { column, op, values })
    }
}

fn is_reserved(word: &str) -> bool {
    [
        "SELECT", "FROM", "WHERE", "AND", "OR", "ORDER", "BY", "LIMIT", "LIKE", "IN", "NOT", "ASC",
        "DESC",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

/// Parses a VTQL statement and checks it against the module's columns.
pub(crate) fn parse(text: &str) -> Result<Query, QueryError> {
    let tokens = tokenize(text)?;
    if tokens.last() != Some(&Token::Sym(";")) {
        return Err(QueryError::Syntax(
            "a VTQL query must end with ';'".to_owned(),
        ));
    }
    let mut p = Parser { tokens, pos: 0 };
    p.expect_keyword("SELECT")?;
    let selection = if p.eat_sym("*") {
        Selection::All
    } else if p.is_keyword("COUNT") {
        p.pos += 1;
        p.expect_sym("(")?;
        p.expect_sym("*")?;
        p.expect_sym(")")?;
        Selection::Count
    } else {
        let mut columns = vec![p.ident()?];
        while p.eat_sym(",") {
            columns.push(p.ident()?);
        }
        Selection::Columns(columns)
    };
    p.expect_keyword("FROM")?;
    let name = p.ident()?;
    let module = Module::from_name(&name).ok_or(QueryError::UnknownModule(name))?;
    let mut filter = Vec::new();
    if p.eat_keyword("WHERE") {
        let mut group = vec![p.cond()?];
        loop {
            if p.eat_keyword("AND") {
                group.push(p.cond()?);
            } else if p.eat_keyword("OR") {
                filter.push(std::mem::take(&mut group));
                group.push(p.cond()?);
            } else {
                break;
            }
        }
        filter.push(group);
    }
    let mut order = None;
    if p.eat_keyword("ORDER") {
        p.expect_keyword("BY")?;
        let column = p.ident()?;
        let descending = if p.eat_keyword("DESC") {
            true
        } else {
            p.eat_keyword("ASC");
            false
        };
        order = Some((column, descending));
    }
    let (mut offset, mut limit) = (0, MAX_ROWS);
    if p.eat_keyword("LIMIT") {
        let first = p.number()?;
        if p.eat_sym(",") {
            offset = first;
            limit = p.number()?;
        } else {
            limit = first;
        }
    }
    p.expect_sym(";")?;
    if p.pos != p.tokens.len() {
        return Err(QueryError::Syntax("unexpected text after ';'".into()));
    }
    let query = Query {
        selection,
        module,
        filter,
        order,
        offset,
        limit: limit.min(MAX_ROWS),
    };
    query.check_columns()?;
    Ok(query)
}

impl Query {
    /// The module queried.
    pub(crate) fn module(&self) -> Module {
        self.module
    }

    fn check_columns(&self) -> Result<(), QueryError> {
        let mut used: Vec<&String> = self.filter.iter().flatten().map(|c| &c.column).collect();
        if let Selection::Columns(columns) = &self.selection {
            used.extend(columns);
        }
        if let Some((column, _)) = &self.order {
            used.push(column);
        }
        match used.into_iter().find(|c| !self.module.has_column(c)) {
            Some(unknown) => Err(QueryError::UnknownColumn(format!(
                "{}.{unknown}",
                self.module.name()
            ))),
            None => Ok(()),
        }
    }

    /// Runs the query over the module's rows.
    pub(crate) fn run(&self, rows: Vec<Row>) -> Vec<Row> {
        let mut rows: Vec<Row> = rows
            .into_iter()
            .filter(|row| {
                self.filter.is_empty()
                    || self
                        .filter
                        .iter()
                        .any(|group| group.iter().all(|c| c.holds(row)))
            })
            .collect();
        if self.selection == Selection::Count {
            let mut row = Row::new();
            row.insert("count".to_owned(), rows.len().to_string());
            return vec![row];
        }
        if let Some((column, descending)) = &self.order {
            rows.sort_by(|a, b| {
                let ordering = compare(&a[column], &b[column]);
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
        }
        rows.into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(|row| match &self.selection {
                Selection::Columns(columns) => row
                    .into_iter()
                    .filter(|(k, _)| k == "id" || columns.contains(k))
                    .collect(),
                _ => row,
            })
            .collect()
    }
}

/// Numbers numerically, anything else case-insensitively.
fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

impl Cond {
    fn holds(&self, row: &Row) -> bool {
        let field = row.get(&self.column).map(String::as_str).unwrap_or("");
        let value = &self.values[0];
        match self.op {
            Op::Eq => compare(field, value) == Ordering::Equal,
            Op::Ne => compare(field, value) != Ordering::Equal,
            Op::Lt => compare(field, value) == Ordering::Less,
            Op::Le => compare(field, value) != Ordering::Greater,
            Op::Gt => compare(field, value) == Ordering::Greater,
            Op::Ge => compare(field, value) != Ordering::Less,
            Op::Like(negated) => like(field, value) != negated,
            Op::In(negated) => {
                self.values
                    .iter()
                    .any(|v| compare(field, v) == Ordering::Equal)
                    != negated
            }
        }
    }
}

/// SQL `LIKE`, case-insensitive: `%` is any run, `_` any one character.
pub(crate) fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    // matches[j]: whether text[..i] matches pattern[..j].
    let mut matches = vec![false; pattern.len() + 1];
    matches[0] = true;
    for j in 1..=pattern.len() {
        matches[j] = matches[j - 1] && pattern[j - 1] == '%';
    }
    for &t in &text {
        let mut next = vec![false; pattern.len() + 1];
        for j in 1..=pattern.len() {
            next[j] = match pattern[j - 1] {
                '%' => next[j - 1] || matches[j],
                '_' => matches[j - 1],
                p => matches[j - 1] && p == t,
            };
        }
        matches = next;
    }
    matches[pattern.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn like_handles_wildcards_and_case() {
        assert!(like("Lucía Fernández", "%fernández%"));
        assert!(like("647 46 01 97", "%46 01 97"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("", "%"));
        assert!(!like("abc", "%d%"));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let q =
            parse("SELECT * FROM Leads WHERE firstname = 'a' AND lastname = 'b' OR company = 'c';")
                .unwrap();
        let rows = vec![
            row(&[
                ("id", "10x1"),
                ("firstname", "a"),
                ("lastname", "x"),
                ("company", "c"),
            ]),
            row(&[
                ("id", "10x2"),
                ("firstname", "a"),
                ("lastname", "x"),
                ("company", "z"),
            ]),
            row(&[
                ("id", "10x3"),
                ("firstname", "A"),
                ("lastname", "B"),
                ("company", "z"),
            ]),
        ];
        let ids: Vec<String> = q.run(rows).into_iter().map(|r| r["id"].clone()).collect();
        assert_eq!(ids, ["10x1", "10x3"]);
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(
            parse("SELECT * FROM Contacts"),
            Err(QueryError::Syntax(_))
        ));
        assert!(matches!(
            parse("SELECT * FROM Nope;"),
            Err(QueryError::UnknownModule(_))
        ));
        assert!(matches!(
            parse("SELECT nope FROM Contacts;"),
            Err(QueryError::UnknownColumn(_))
        ));
        assert!(matches!(
            parse("SELECT * FROM Contacts WHERE phone = ;"),
            Err(QueryError::Syntax(_))
        ));
        assert!(matches!(
            parse("SELECT * FROM Contacts; DROP"),
            Err(QueryError::Syntax(_))
        ));
    }
}
