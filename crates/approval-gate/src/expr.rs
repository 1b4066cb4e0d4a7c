//! The rule language: numbers, `candidate.<metric>` and `champion.<metric>`, `+ - * /`,
//! `abs()`, comparisons, `not`, `and`, `or`, parentheses. Types are checked when a rule is
//! parsed (a rule must compare something; `and` joins comparisons), so a rule that parses
//! always evaluates; errors carry the column.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Candidate,
    Champion,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Candidate => "candidate",
            Side::Champion => "champion",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Compare {
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    Equal,
    NotEqual,
}

#[derive(Debug, Clone)]
enum Node {
    Number(f64),
    Metric { side: Side, name: String, column: usize },
    Negate(Box<Node>),
    Abs(Box<Node>),
    Arithmetic(char, Box<Node>, Box<Node>),
    Compare(Compare, Box<Node>, Box<Node>),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
}

/// A parsed rule, ready to evaluate against two sets of metrics.
#[derive(Debug, Clone)]
pub struct Rule {
    pub text: String,
    root: Node,
}

/// What went wrong, and where (1-based column, in characters).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

/// A metric a rule names, where it names it first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetricUse {
    pub side: Side,
    pub name: String,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Word(String),
    Dot,
    Op(&'static str),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            // An exponent: 1e-3, 2.5E6.
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let literal: String = chars[start..i].iter().collect();
            let value = literal
                .parse::<f64>()
                .map_err(|_| ParseError { column, message: format!("`{literal}` is not a number") })?;
            tokens.push((Token::Number(value), column));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((Token::Word(chars[start..i].iter().collect()), column));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match two.as_str() {
            "<=" => Some("<="),
            ">=" => Some(">="),
            "==" => Some("=="),
            "!=" => Some("!="),
            "&&" => Some("and"),
            "||" => Some("or"),
            _ => None,
        };
        if let Some(op) = op {
            tokens.push((Token::Op(op), column));
            i += 2;
            continue;
        }
        let token = match c {
            '<' => Token::Op("<"),
            '>' => Token::Op(">"),
            '+' => Token::Op("+"),
            '-' => Token::Op("-"),
            '*' => Token::Op("*"),
            '/' => Token::Op("/"),
            '.' => Token::Dot,
            '(' => Token::Open,
            ')' => Token::Close,
            '=' => {
                return Err(ParseError {
                    column,
                    message: "`=` alone is not a comparison; write `==`, `<=` or `>=`".into(),
                });
            }
            other => return Err(ParseError { column, message: format!("unexpected `{other}`") }),
        };
        tokens.push((token, column));
        i += 1;
    }
    Ok(tokens)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Number,
    Boolean,
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    position: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.position).map(|(_, c)| *c).unwrap_or(self.end)
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the rule".into(),
            Some(Token::Number(n)) => format!("`{n}`"),
            Some(Token::Word(w)) => format!("`{w}`"),
            Some(Token::Dot) => "`.`".into(),
            Some(Token::Op(op)) => format!("`{op}`"),
            Some(Token::Open) => "`(`".into(),
            Some(Token::Close) => "`)`".into(),
        }
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { column: self.column(), message: message.into() })
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(o)) if *o == op)
    }

    fn expect_kind(&self, node: (Node, Kind), want: Kind, column: usize, context: &str) -> Result<Node, ParseError> {
        if node.1 == want {
            return Ok(node.0);
        }
        let message = match want {
            Kind::Boolean => format!("{context} needs a comparison here (such as `candidate.r2 >= 0.3`), not a number"),
            Kind::Number => format!("{context} needs a number here, not a comparison"),
        };
        Err(ParseError { column, message })
    }

    fn or(&mut self) -> Result<(Node, Kind), ParseError> {
        let column = self.column();
        let mut left = self.and()?;
        while self.is_word("or") || self.is_op("or") {
            self.position += 1;
            let right_column = self.column();
            let right = self.and()?;
            let l = self.expect_kind(left, Kind::Boolean, column, "`or`")?;
            let r = self.expect_kind(right, Kind::Boolean, right_column, "`or`")?;
            left = (Node::Or(Box::new(l), Box::new(r)), Kind::Boolean);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<(Node, Kind), ParseError> {
        let column = self.column();
        let mut left = self.not()?;
        while self.is_word("and") || self.is_op("and") {
            self.position += 1;
            let right_column = self.column();
            let right = self.not()?;
            let l = self.expect_kind(left, Kind::Boolean, column, "`and`")?;
            let r = self.expect_kind(right, Kind::Boolean, right_column, "`and`")?;
            left = (Node::And(Box::new(l), Box::new(r)), Kind::Boolean);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<(Node, Kind), ParseError> {
        if self.is_word("not") {
            self.position += 1;
            let column = self.column();
            let inner = self.not()?;
            let inner = self.expect_kind(inner, Kind::Boolean, column, "`not`")?;
            return Ok((Node::Not(Box::new(inner)), Kind::Boolean));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<(Node, Kind), ParseError> {
        let column = self.column();
        let left = self.sum()?;
        let compare = match self.peek() {
            Some(Token::Op("<")) => Compare::Less,
            Some(Token::Op("<=")) => Compare::LessEqual,
            Some(Token::Op(">")) => Compare::Greater,
            Some(Token::Op(">=")) => Compare::GreaterEqual,
            Some(Token::Op("==")) => Compare::Equal,
            Some(Token::Op("!=")) => Compare::NotEqual,
            _ => return Ok(left),
        };
        self.position += 1;
        let right_column = self.column();
        let right = self.sum()?;
        let l = self.expect_kind(left, Kind::Number, column, "a comparison")?;
        let r = self.expect_kind(right, Kind::Number, right_column, "a comparison")?;
        if matches!(self.peek(), Some(Token::Op("<" | "<=" | ">" | ">=" | "==" | "!="))) {
            return self.error("comparisons do not chain; join them with `and`");
        }
        Ok((Node::Compare(compare, Box::new(l), Box::new(r)), Kind::Boolean))
    }

    fn sum(&mut self) -> Result<(Node, Kind), ParseError> {
        let column = self.column();
        let mut left = self.product()?;
        while let Some(Token::Op(op @ ("+" | "-"))) = self.peek() {
            let op = if *op == "+" { '+' } else { '-' };
            self.position += 1;
            let right_column = self.column();
            let right = self.product()?;
            let l = self.expect_kind(left, Kind::Number, column, "arithmetic")?;
            let r = self.expect_kind(right, Kind::Number, right_column, "arithmetic")?;
            left = (Node::Arithmetic(op, Box::new(l), Box::new(r)), Kind::Number);
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<(Node, Kind), ParseError> {
        let column = self.column();
        let mut left = self.unary()?;
        while let Some(Token::Op(op @ ("*" | "/"))) = self.peek() {
            let op = if *op == "*" { '*' } else { '/' };
            self.position += 1;
            let right_column = self.column();
            let right = self.unary()?;
            let l = self.expect_kind(left, Kind::Number, column, "arithmetic")?;
            let r = self.expect_kind(right, Kind::Number, right_column, "arithmetic")?;
            left = (Node::Arithmetic(op, Box::new(l), Box::new(r)), Kind::Number);
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<(Node, Kind), ParseError> {
        if self.is_op("-") {
            self.position += 1;
            let column = self.column();
            let inner = self.unary()?;
            let inner = self.expect_kind(inner, Kind::Number, column, "`-`")?;
            return Ok((Node::Negate(Box::new(inner)), Kind::Number));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<(Node, Kind), ParseError> {
        let column = self.column();
        match self.peek().cloned() {
            Some(Token::Number(n)) => {
                self.position += 1;
                Ok((Node::Number(n), Kind::Number))
            }
            Some(Token::Open) => {
                self.position += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return self
                        .error(format!("expected `)` to close the `(` at column {column}, found {}", self.found()));
                }
                self.position += 1;
                Ok(inner)
            }
            Some(Token::Word(word)) if word == "abs" => {
                self.position += 1;
                if self.peek() != Some(&Token::Open) {
                    return self.error(format!("expected `(` after `abs`, found {}", self.found()));
                }
                self.position += 1;
                let inner_column = self.column();
                let inner = self.sum()?;
                let inner = self.expect_kind(inner, Kind::Number, inner_column, "`abs`")?;
                if self.peek() != Some(&Token::Close) {
                    return self.error(format!("expected `)` to close `abs(`, found {}", self.found()));
                }
                self.position += 1;
                Ok((Node::Abs(Box::new(inner)), Kind::Number))
            }
            Some(Token::Word(word)) if word == "candidate" || word == "champion" => {
                let side = if word == "candidate" { Side::Candidate } else { Side::Champion };
                self.position += 1;
                if self.peek() != Some(&Token::Dot) {
                    return self.error(format!(
                        "expected `.` and a metric name after `{word}` (as in `{word}.rmse`), found {}",
                        self.found()
                    ));
                }
                self.position += 1;
                match self.peek().cloned() {
                    Some(Token::Word(name)) => {
                        self.position += 1;
                        Ok((Node::Metric { side, name, column }, Kind::Number))
                    }
                    _ => self.error(format!("expected a metric name after `{word}.`, found {}", self.found())),
                }
            }
            Some(Token::Word(word)) => {
                let hint = match aml_client::yaml::closest(&word, &["candidate", "champion", "abs", "and", "or", "not"])
                {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None => "; metrics are written `candidate.NAME` or `champion.NAME`".into(),
                };
                self.error(format!("unknown word `{word}`{hint}"))
            }
            _ => self.error(format!(
                "expected a number, a metric (`candidate.NAME`, `champion.NAME`), `abs(` or `(`, found {}",
                self.found()
            )),
        }
    }
}

impl Rule {
    pub fn parse(text: &str) -> Result<Rule, ParseError> {
        let tokens = tokenize(text)?;
        let end = text.chars().count() + 1;
        if tokens.is_empty() {
            return Err(ParseError { column: 1, message: "the rule is empty".into() });
        }
        let mut parser = Parser { tokens, position: 0, end };
        let root = parser.or()?;
        if parser.peek().is_some() {
            return parser.error(format!("expected an operator or the end of the rule, found {}", parser.found()));
        }
        let root = parser.expect_kind(root, Kind::Boolean, 1, "a rule")?;
        Ok(Rule { text: text.trim().to_string(), root })
    }

    /// Every metric the rule reads, in the order written, each once.
    pub fn metrics(&self) -> Vec<MetricUse> {
        fn walk(node: &Node, out: &mut Vec<MetricUse>) {
            match node {
                Node::Number(_) => {}
                Node::Metric { side, name, column } => {
                    if !out.iter().any(|m| m.side == *side && m.name == *name) {
                        out.push(MetricUse { side: *side, name: name.clone(), column: *column });
                    }
                }
                Node::Negate(a) | Node::Abs(a) | Node::Not(a) => walk(a, out),
                Node::Arithmetic(_, a, b) | Node::Compare(_, a, b) | Node::And(a, b) | Node::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    pub fn uses_champion(&self) -> bool {
        self.metrics().iter().any(|m| m.side == Side::Champion)
    }

    /// Evaluate with every metric the rule reads present (checked before, with a better
    /// message than an evaluator could give).
    pub fn evaluate(&self, candidate: &BTreeMap<String, f64>, champion: &BTreeMap<String, f64>) -> bool {
        fn number(node: &Node, candidate: &BTreeMap<String, f64>, champion: &BTreeMap<String, f64>) -> f64 {
            match node {
                Node::Number(n) => *n,
                Node::Metric { side, name, .. } => {
                    let metrics = if *side == Side::Candidate { candidate } else { champion };
                    metrics.get(name).copied().unwrap_or(f64::NAN)
                }
                Node::Negate(a) => -number(a, candidate, champion),
                Node::Abs(a) => number(a, candidate, champion).abs(),
                Node::Arithmetic(op, a, b) => {
                    let (a, b) = (number(a, candidate, champion), number(b, candidate, champion));
                    match op {
                        '+' => a + b,
                        '-' => a - b,
                        '*' => a * b,
                        _ => a / b,
                    }
                }
                _ => f64::NAN,
            }
        }
        fn truth(node: &Node, candidate: &BTreeMap<String, f64>, champion: &BTreeMap<String, f64>) -> bool {
            match node {
                Node::Compare(op, a, b) => {
                    let (a, b) = (number(a, candidate, champion), number(b, candidate, champion));
                    // NaN (0/0, a missing value) compares false everywhere, `!=` included:
                    // a rule that cannot be computed does not pass.
                    if a.is_nan() || b.is_nan() {
                        return false;
                    }
                    match op {
                        Compare::Less => a < b,
                        Compare::LessEqual => a <= b,
                        Compare::Greater => a > b,
                        Compare::GreaterEqual => a >= b,
                        Compare::Equal => a == b,
                        Compare::NotEqual => a != b,
                    }
                }
                Node::Not(a) => !truth(a, candidate, champion),
                Node::And(a, b) => truth(a, candidate, champion) && truth(b, candidate, champion),
                Node::Or(a, b) => truth(a, candidate, champion) || truth(b, candidate, champion),
                _ => false,
            }
        }
        truth(&self.root, candidate, champion)
    }
}
