//! JUnit XML for CI test tabs (Azure DevOps PublishTestResults, Jenkins `junit`, GitHub
//! report actions), in the subset both `contracts/ci/junit/` schemas accept: every
//! testsuite attribute, `properties`, `system-out` and `system-err` present.

use std::fmt::Write;

pub struct TestCase {
    pub name: String,
    pub classname: String,
    pub seconds: f64,
    pub failure: Option<(String, String)>,
}

pub struct Suite {
    pub name: String,
    pub timestamp: String,
    pub hostname: String,
    pub seconds: f64,
    pub properties: Vec<(String, String)>,
    pub cases: Vec<TestCase>,
    pub output: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters; tabs and newlines are kept.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

pub fn render(suite: &Suite) -> String {
    let failures = suite.cases.iter().filter(|c| c.failure.is_some()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" package=\"smoke-test\" id=\"0\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\" timestamp=\"{}\" hostname=\"{}\">",
        escape(&suite.name),
        suite.cases.len(),
        suite.seconds,
        escape(&suite.timestamp),
        escape(&suite.hostname)
    );
    xml.push_str("    <properties>\n");
    for (name, value) in &suite.properties {
        let _ = writeln!(xml, "      <property name=\"{}\" value=\"{}\"/>", escape(name), escape(value));
    }
    xml.push_str("    </properties>\n");
    for case in &suite.cases {
        let head = format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
            escape(&case.name),
            escape(&case.classname),
            case.seconds
        );
        match &case.failure {
            None => {
                let _ = writeln!(xml, "{head}/>");
            }
            Some((message, detail)) => {
                let _ = writeln!(
                    xml,
                    "{head}>\n      <failure message=\"{}\" type=\"AssertionError\">{}</failure>\n    </testcase>",
                    escape(message),
                    escape(detail)
                );
            }
        }
    }
    let _ = writeln!(
        xml,
        "    <system-out>{}</system-out>\n    <system-err></system-err>\n  </testsuite>\n</testsuites>",
        escape(&suite.output)
    );
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_names_and_messages() {
        let suite = Suite {
            name: "a<b".into(),
            timestamp: "2026-01-01T00:00:00".into(),
            hostname: "h".into(),
            seconds: 0.5,
            properties: vec![],
            cases: vec![TestCase {
                name: "p95 <= 5 ms".into(),
                classname: "budgets".into(),
                seconds: 0.0,
                failure: Some(("got \"7\" & more".into(), "x".into())),
            }],
            output: String::new(),
        };
        let xml = render(&suite);
        assert!(xml.contains("name=\"a&lt;b\""), "{xml}");
        assert!(xml.contains("message=\"got &quot;7&quot; &amp; more\""), "{xml}");
    }
}
