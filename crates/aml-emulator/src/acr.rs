//! Azure Container Registry's token dance in front of a real Distribution registry: `/v2/`
//! challenges, `/oauth2/exchange` turns an Entra token the emulator issued into a refresh
//! token, `/oauth2/token` buys a repository-scoped access token, and every `/v2/<repo>/…`
//! call must carry one before it is passed to the registry behind.

use std::collections::BTreeMap;

use serde_json::json;

use crate::common::{TENANT, parse_form};
use crate::state::{Answer, State, ok};

fn unauthorized(host: &str, scope: Option<&str>) -> Answer {
    let mut challenge =
        format!("Bearer realm=\"https://{host}/oauth2/token\",service=\"{}\"", host.split(':').next().unwrap_or(host));
    if let Some(scope) = scope {
        challenge.push_str(&format!(",scope=\"{scope}\""));
    }
    Answer::Reply {
        status: 401,
        headers: vec![("www-authenticate".into(), challenge)],
        body: json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}),
    }
}

fn refused(message: &str) -> Answer {
    Answer::Reply {
        status: 401,
        headers: Vec::new(),
        body: json!({"errors": [{"code": "UNAUTHORIZED", "message": message}]}),
    }
}

impl State {
    pub(crate) fn registry(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        headers: &BTreeMap<String, String>,
        body: &[u8],
    ) -> Option<Answer> {
        let host = headers.get("host").cloned().unwrap_or_default();
        let service = host.split(':').next().unwrap_or(&host).to_string();
        match (method, path) {
            ("POST", "/oauth2/exchange") => {
                let form = parse_form(&String::from_utf8_lossy(body));
                if form.get("grant_type").map(String::as_str) != Some("access_token")
                    || form.get("service") != Some(&service)
                {
                    self.violations.push(format!(
                        "ACR exchange without grant_type=access_token and service={service}: {:?}",
                        form.keys().collect::<Vec<_>>()
                    ));
                    return Some(refused("bad exchange request"));
                }
                if form.get("tenant").is_some_and(|t| t != TENANT)
                    || !form.get("access_token").is_some_and(|t| self.tokens.contains(t))
                {
                    return Some(refused("the Entra token is not valid for this registry"));
                }
                let refresh = format!("acr-refresh-{}", crate::common::random_token());
                self.acr_refresh.insert(refresh.clone());
                Some(ok(200, json!({"refresh_token": refresh})))
            }
            ("POST", "/oauth2/token") => {
                let form = parse_form(&String::from_utf8_lossy(body));
                let scope = form.get("scope").cloned().unwrap_or_default();
                let repository = scope
                    .strip_prefix("repository:")
                    .and_then(|r| r.rsplit_once(':'))
                    .map(|(repo, _)| repo.to_string());
                if form.get("grant_type").map(String::as_str) != Some("refresh_token")
                    || form.get("service") != Some(&service)
                    || repository.is_none()
                {
                    self.violations.push(format!(
                        "ACR token request without grant_type=refresh_token, service or a repository scope: {:?}",
                        form
                    ));
                    return Some(refused("bad token request"));
                }
                if !form.get("refresh_token").is_some_and(|t| self.acr_refresh.contains(t)) {
                    return Some(refused("the refresh token is not valid"));
                }
                let access = format!("acr-access-{}", crate::common::random_token());
                self.acr_access.insert(access.clone(), repository.unwrap_or_default());
                Some(ok(200, json!({"access_token": access})))
            }
            (_, "/v2/") => Some(unauthorized(&host, None)),
            (_, path) if path.starts_with("/v2/") => {
                let rest = &path[4..];
                let end = ["/blobs/", "/manifests/", "/tags/"]
                    .iter()
                    .filter_map(|m| rest.find(m))
                    .min()
                    .unwrap_or(rest.len());
                let repository = &rest[..end];
                let presented = headers.get("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or("");
                if self.acr_access.get(presented).map(String::as_str) != Some(repository) {
                    return Some(unauthorized(&host, Some(&format!("repository:{repository}:pull,push"))));
                }
                let Some(backend) = self.registry_backend.clone() else {
                    return Some(refused("the emulator has no registry behind it"));
                };
                let url = if query.is_empty() {
                    format!("http://{backend}{path}")
                } else {
                    format!("http://{backend}{path}?{query}")
                };
                let forwarded: Vec<(String, String)> = headers
                    .iter()
                    .filter(|(k, _)| matches!(k.as_str(), "content-type" | "content-range" | "accept"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Some(Answer::Proxy {
                    method: method.to_string(),
                    url,
                    backend,
                    headers: forwarded,
                    body: body.to_vec(),
                })
            }
            _ => None,
        }
    }
}
