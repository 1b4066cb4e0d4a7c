//! The rule language: numbers, metrics of two sides (`candidate.<metric>` and
//! `champion.<metric>` for the approval gate; `new.<metric>` and `old.<metric>`, or a bare
//! `<metric>` for the new side, for a rollout's analysis), `+ - * /`, `abs()`, comparisons,
//! `not`, `and`, `or`, parentheses. Types are checked when a rule is parsed (a rule must
//! compare something; `and` joins comparisons), so a rule that parses always evaluates;
//! errors carry the column. One parser for every tool that decides by metrics.

use std::collections::BTreeMap;
use std::fmt;

/// Which of the two sets of metrics a metric is read from: the one being decided on
/// (`candidate`, `new`), or the one it is compared with (`champion`, `old`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Candidate,
    Champion,
}

/// The approval gate's words for the sides (also how `Side` displays).
impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Vocabulary::GATE.word(*self))
    }
}

/// The words a rule names its sides with, and whether a bare metric name means the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocabulary {
    pub candidate: &'static str,
    pub champion: &'static str,
    pub bare_is_candidate: bool,
    /// A comparison to show in messages.
    pub example: &'static str,
}

impl Vocabulary {
    /// `approval-gate`: `candidate.r2 >= champion.r2`.
    pub const GATE: Vocabulary = Vocabulary {
        candidate: "candidate",
        champion: "champion",
        bare_is_candidate: false,
        example: "candidate.r2 >= 0.3",
    };
    /// A rollout's analysis: `error_rate < 0.01`, `new.p99_ms <= old.p99_ms * 1.2`.
    pub const ANALYSIS: Vocabulary =
        Vocabulary { candidate: "new", champion: "old", bare_is_candidate: true, example: "error_rate < 0.01" };

    pub fn word(&self, side: Side) -> &'static str {
        match side {
            Side::Candidate => self.candidate,
            Side::Champion => self.champion,
        }
    }

    fn side(&self, word: &str) -> Option<Side> {
        [Side::Candidate, Side::Champion].into_iter().find(|side| self.word(*side) == word)
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
    vocabulary: Vocabulary,
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

/// Deeper nesting than people write, shallow enough that checking and evaluating a rule
/// recurses safely on any thread's stack.
const MAX_DEPTH: usize = 64;
/// A rule longer than this is not one a person maintains (and would nest as deep).
const MAX_TOKENS: usize = 1000;

struct Parser {
    tokens: Vec<(Token, usize)>,
    position: usize,
    end: usize,
    depth: usize,
    vocabulary: Vocabulary,
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

    /// One level deeper (a parenthesis, `abs(`, `not`, a unary `-`), refused past `MAX_DEPTH`.
    fn descend(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(format!("the rule nests deeper than {MAX_DEPTH} levels; write it flatter"));
        }
        Ok(())
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
            Kind::Boolean => {
                format!("{context} needs a comparison here (such as `{}`), not a number", self.vocabulary.example)
            }
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
            self.descend()?;
            let column = self.column();
            let inner = self.not()?;
            self.depth -= 1;
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
            self.descend()?;
            let column = self.column();
            let inner = self.unary()?;
            self.depth -= 1;
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
                self.descend()?;
                let inner = self.or()?;
                self.depth -= 1;
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
                self.descend()?;
                let inner_column = self.column();
                let inner = self.sum()?;
                self.depth -= 1;
                let inner = self.expect_kind(inner, Kind::Number, inner_column, "`abs`")?;
                if self.peek() != Some(&Token::Close) {
                    return self.error(format!("expected `)` to close `abs(`, found {}", self.found()));
                }
                self.position += 1;
                Ok((Node::Abs(Box::new(inner)), Kind::Number))
            }
            Some(Token::Word(word)) if self.vocabulary.side(&word).is_some() => {
                let side = self.vocabulary.side(&word).unwrap_or(Side::Candidate);
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
            // Where bare names are metrics, any other word is one (of the first side).
            Some(Token::Word(name)) if self.vocabulary.bare_is_candidate && !KEYWORDS.contains(&name.as_str()) => {
                self.position += 1;
                Ok((Node::Metric { side: Side::Candidate, name, column }, Kind::Number))
            }
            Some(Token::Word(word)) => {
                let (candidate, champion) = (self.vocabulary.candidate, self.vocabulary.champion);
                let hint = match crate::yaml::closest(&word, &[candidate, champion, "abs", "and", "or", "not"]) {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None => format!("; metrics are written `{candidate}.NAME` or `{champion}.NAME`"),
                };
                self.error(format!("unknown word `{word}`{hint}"))
            }
            _ => self.error(format!(
                "expected a number, a metric (`{}.NAME`, `{}.NAME`), `abs(` or `(`, found {}",
                self.vocabulary.candidate,
                self.vocabulary.champion,
                self.found()
            )),
        }
    }
}

/// Words of the language itself, never metric names.
const KEYWORDS: [&str; 4] = ["abs", "and", "or", "not"];

impl Rule {
    /// A rule in the approval gate's words (`candidate`, `champion`).
    pub fn parse(text: &str) -> Result<Rule, ParseError> {
        Self::parse_with(text, Vocabulary::GATE)
    }

    pub fn parse_with(text: &str, vocabulary: Vocabulary) -> Result<Rule, ParseError> {
        let tokens = tokenize(text)?;
        let end = text.chars().count() + 1;
        if tokens.is_empty() {
            return Err(ParseError { column: 1, message: "the rule is empty".into() });
        }
        if tokens.len() > MAX_TOKENS {
            return Err(ParseError {
                column: tokens[MAX_TOKENS].1,
                message: format!("the rule is longer than {MAX_TOKENS} words and symbols; split it into several rules"),
            });
        }
        let mut parser = Parser { tokens, position: 0, end, depth: 0, vocabulary };
        let root = parser.or()?;
        if parser.peek().is_some() {
            return parser.error(format!("expected an operator or the end of the rule, found {}", parser.found()));
        }
        let root = parser.expect_kind(root, Kind::Boolean, 1, "a rule")?;
        Ok(Rule { text: text.trim().to_string(), root, vocabulary })
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
    /// message than an evaluator could give). Arithmetic that leaves the finite numbers (a
    /// division by zero, an overflow, `0/0`) cannot be decided: that is an error naming the
    /// part of the rule that did it, never a pass or a fail.
    pub fn evaluate(
        &self,
        candidate: &BTreeMap<String, f64>,
        champion: &BTreeMap<String, f64>,
    ) -> Result<bool, EvalError> {
        let metrics = Metrics { candidate, champion, vocabulary: self.vocabulary };
        metrics.truth(&self.root)
    }
}

/// Why a rule could not be decided.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// The part of the rule, as written back: `candidate.r2 / (champion.r2 - champion.r2)`.
    pub operand: String,
    pub problem: String,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.operand, self.problem)
    }
}

impl std::error::Error for EvalError {}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

struct Metrics<'a> {
    candidate: &'a BTreeMap<String, f64>,
    champion: &'a BTreeMap<String, f64>,
    vocabulary: Vocabulary,
}

impl Metrics<'_> {
    fn number(&self, node: &Node) -> Result<f64, EvalError> {
        let value = match node {
            Node::Number(n) => *n,
            Node::Metric { side, name, .. } => {
                let metrics = if *side == Side::Candidate { self.candidate } else { self.champion };
                metrics.get(name).copied().unwrap_or(f64::NAN)
            }
            Node::Negate(a) => -self.number(a)?,
            Node::Abs(a) => self.number(a)?.abs(),
            Node::Arithmetic(op, a, b) => {
                let (x, y) = (self.number(a)?, self.number(b)?);
                if *op == '/' && y == 0.0 {
                    return Err(EvalError {
                        operand: render(node, self.vocabulary),
                        problem: format!("divides by zero (`{}` is 0)", render(b, self.vocabulary)),
                    });
                }
                match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    _ => x / y,
                }
            }
            _ => f64::NAN,
        };
        if value.is_finite() {
            Ok(value)
        } else {
            Err(EvalError {
                operand: render(node, self.vocabulary),
                problem: format!("is {value}, not a finite number"),
            })
        }
    }

    fn truth(&self, node: &Node) -> Result<bool, EvalError> {
        Ok(match node {
            Node::Compare(op, a, b) => {
                let (a, b) = (self.number(a)?, self.number(b)?);
                match op {
                    Compare::Less => a < b,
                    Compare::LessEqual => a <= b,
                    Compare::Greater => a > b,
                    Compare::GreaterEqual => a >= b,
                    Compare::Equal => a == b,
                    Compare::NotEqual => a != b,
                }
            }
            Node::Not(a) => !self.truth(a)?,
            Node::And(a, b) => self.truth(a)? && self.truth(b)?,
            Node::Or(a, b) => self.truth(a)? || self.truth(b)?,
            _ => false,
        })
    }
}

/// A part of a rule written back as text, for messages.
fn render(node: &Node, vocabulary: Vocabulary) -> String {
    match node {
        Node::Number(n) => format!("{n}"),
        Node::Metric { side, name, .. } => format!("{}.{name}", vocabulary.word(*side)),
        Node::Negate(a) => format!("-{}", render(a, vocabulary)),
        Node::Abs(a) => format!("abs({})", render(a, vocabulary)),
        Node::Arithmetic(op, a, b) => {
            let wrap = |n: &Node| match n {
                Node::Arithmetic(..) => format!("({})", render(n, vocabulary)),
                _ => render(n, vocabulary),
            };
            format!("{} {op} {}", wrap(a), wrap(b))
        }
        Node::Compare(..) | Node::Not(_) | Node::And(..) | Node::Or(..) => "(a comparison)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn an_analysis_reads_bare_names_as_the_new_side_and_speaks_its_own_words()
    -> std::result::Result<(), Box<dyn std::error::Error>> {
        let rule = Rule::parse_with("error_rate < 0.01 and new.p99_ms <= old.p99_ms * 1.2", Vocabulary::ANALYSIS)?;
        let named: Vec<(Side, String)> = rule.metrics().into_iter().map(|m| (m.side, m.name)).collect();
        let expected = [(Side::Candidate, "error_rate"), (Side::Candidate, "p99_ms"), (Side::Champion, "p99_ms")];
        assert_eq!(named, expected.map(|(side, name)| (side, name.to_string())));
        let new = metrics(&[("error_rate", 0.0), ("p99_ms", 110.0)]);
        assert!(rule.evaluate(&new, &metrics(&[("p99_ms", 100.0)]))?);
        assert!(!rule.evaluate(&new, &metrics(&[("p99_ms", 90.0)]))?);

        let refused = Rule::parse_with("candidate.r2 > 1", Vocabulary::ANALYSIS).unwrap_err();
        assert_eq!(refused.column, 10, "{}", refused.message);
        let refused = Rule::parse_with("p99_ms", Vocabulary::ANALYSIS).unwrap_err();
        assert!(refused.message.contains("`error_rate < 0.01`"), "{}", refused.message);
        let undecided = Rule::parse_with("new.p99_ms / old.p99_ms > 1", Vocabulary::ANALYSIS)?
            .evaluate(&metrics(&[("p99_ms", 1.0)]), &metrics(&[("p99_ms", 0.0)]))
            .unwrap_err();
        assert_eq!(undecided.operand, "new.p99_ms / old.p99_ms");
        // The gate's words are unchanged, and a bare name is no metric there.
        assert!(Rule::parse("r2 > 0.3").unwrap_err().message.contains("unknown word `r2`"));
        Ok(())
    }
}
