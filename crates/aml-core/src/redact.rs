//! The last line of defence for secrets in text: any URL in a message loses its user info
//! and its query (a SAS token, a `code=` key, `user:password@`), wherever the message came
//! from, a dependency's error included. Messages we write already show URLs this way
//! (`aml_http::url::shown`); this catches the ones we did not write.

/// `text` with every `scheme://…` in it cut to scheme, host, port and path.
pub fn urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let after = &rest[at + 3..];
        let end =
            after.find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '`' | '>' | '<' | ',' | ']'));
        let (url_rest, tail) = after.split_at(end.unwrap_or(after.len()));
        out.push_str(&rest[..at + 3]);
        let before_query = url_rest.split(['?', '#']).next().unwrap_or(url_rest);
        let (authority, path) = before_query.split_at(before_query.find('/').unwrap_or(before_query.len()));
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        out.push_str(host);
        out.push_str(path);
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::urls;

    #[test]
    fn user_info_and_queries_go_everything_else_stays() {
        assert_eq!(
            urls("error sending request for url (http://127.0.0.1:1/score?sig=t0ken): refused"),
            "error sending request for url (http://127.0.0.1:1/score): refused"
        );
        assert_eq!(urls("GET https://op:pw@host.net:8443/a/b#frag now"), "GET https://host.net:8443/a/b now");
        assert_eq!(
            urls("`wasbs://c@acct.blob.core.windows.net/p?sv=1&sig=x`"),
            "`wasbs://acct.blob.core.windows.net/p`"
        );
        assert_eq!(urls("no url here: a ? b @ c"), "no url here: a ? b @ c");
        assert_eq!(urls("two: http://a/x?k=1, http://u:p@b/y"), "two: http://a/x, http://b/y");
        assert_eq!(urls("ends with ://"), "ends with ://");
    }
}
