//! A job step's command as Databricks can run it: one `python FILE …` or `python -m MODULE …`
//! invocation, split as a shell would, since a spark_python_task takes a script and its
//! arguments, not a shell line.

/// What a job's command becomes on Databricks: the script (or `-m MODULE`) and its
/// arguments, which the driver runs in its own Python as a spark_python_task does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonCommand {
    /// `["train.py", "--alpha", "0.1"]` or `["-m", "pkg.train", …]`
    pub argv: Vec<String>,
}

const COMMAND_SHAPE: &str = "on Databricks the command becomes a spark_python_task: write it as `python FILE ARGS…` or `python -m MODULE ARGS…`, without pipes, redirections or `&&`";

/// Split a job's command as a shell would (quotes, backslashes; `${{…}}` placeholders kept
/// whole) and check it is one Python invocation. The error says what to write instead.
pub fn python_command(command: &str) -> std::result::Result<PythonCommand, String> {
    let words = split_words(command)?;
    let Some((program, rest)) = words.split_first() else {
        return Err(format!("the command is empty; {COMMAND_SHAPE}"));
    };
    let name = program.rsplit('/').next().unwrap_or(program);
    let is_python = name == "python"
        || name
            .strip_prefix("python")
            .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if !is_python {
        return Err(format!("it runs `{program}`; {COMMAND_SHAPE}"));
    }
    // -u (unbuffered) is what the driver does anyway.
    let rest: Vec<String> = rest.iter().skip_while(|w| *w == "-u").cloned().collect();
    match rest.first().map(String::as_str) {
        None => Err(format!("`{program}` is given no script; {COMMAND_SHAPE}")),
        Some("-m") if rest.len() >= 2 => Ok(PythonCommand { argv: rest }),
        Some(flag) if flag.starts_with('-') => Err(format!("`{program} {flag}` is not a script; {COMMAND_SHAPE}")),
        Some(_) => Ok(PythonCommand { argv: rest }),
    }
}

fn split_words(command: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if let Some(done) = word.take() {
                    words.push(done);
                }
            }
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(other) => current.push(other),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(next @ ('"' | '\\' | '$' | '`')) => current.push(next),
                            Some(other) => {
                                current.push('\\');
                                current.push(other);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some('$') if chars.peek() != Some(&'{') => {
                            return Err(format!("`$` (a shell expansion) in the command; {COMMAND_SHAPE}"));
                        }
                        Some(other) => current.push(other),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(other) => word.get_or_insert_with(String::new).push(other),
                None => return Err("the command ends with a backslash".into()),
            },
            '$' if chars.peek() == Some(&'{') => {
                // `${{inputs.x}}`: kept for the placeholder expansion.
                let current = word.get_or_insert_with(String::new);
                current.push('$');
                let mut depth = 0;
                for next in chars.by_ref() {
                    current.push(next);
                    match next {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '`' | '$' => {
                return Err(format!("`{c}` in the command; {COMMAND_SHAPE}"));
            }
            other => word.get_or_insert_with(String::new).push(other),
        }
    }
    if let Some(done) = word {
        words.push(done);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_commands_split_as_a_shell_would() {
        let command =
            python_command("python train.py --training-data ${{inputs.training_data}} --name 'a b' --x \"c d\"")
                .unwrap();
        assert_eq!(
            command.argv,
            ["train.py", "--training-data", "${{inputs.training_data}}", "--name", "a b", "--x", "c d"]
        );
        assert_eq!(python_command("python3.11 -u -m pkg.train --k=v").unwrap().argv, ["-m", "pkg.train", "--k=v"]);
        for (command, says) in [
            ("bash run.sh", "runs `bash`"),
            ("python train.py | tee log", "`|`"),
            ("python train.py && echo done", "`&`"),
            ("python -c 'print(1)'", "not a script"),
            ("python train.py --home $HOME", "`$`"),
            ("python 'train.py", "not closed"),
        ] {
            let error = python_command(command).unwrap_err();
            assert!(error.contains(says), "{command}: {error}");
        }
    }
}
