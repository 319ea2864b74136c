//! What the OpenAPI document promises beyond each route's own declaration, derived from the
//! same tables the server obeys: the operations anyone may call (the policy table) need no
//! token, and every operation documents the problem documents the edge can answer it with —
//! authentication and role (401, 403), malformed path, query or body (400, 413, 415, 422),
//! something not found (404), a clash with the state of things (409), rate limits (429), the
//! request timeout (408) and the database out of reach (503).

use crate::app::policy::{Access, Act};
use crate::http::authz::ROUTES;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

/// The actions whose use case counts against a rate limit (`app::limits`).
const RATE_LIMITED: &[Act] = &[Act::CheckVoucher, Act::VerifyVouchers, Act::Redeem, Act::RedeemBatch];

/// Completes every operation of `doc`.
pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in [
            ("GET", &mut item.get),
            ("POST", &mut item.post),
            ("PUT", &mut item.put),
            ("PATCH", &mut item.patch),
            ("DELETE", &mut item.delete),
        ] {
            if let Some(op) = op {
                let act = ROUTES.iter().find(|r| r.method == method && r.path == path).map(|r| r.act);
                document(op, method, path, act);
            }
        }
    }
}

fn document(op: &mut Operation, method: &str, path: &str, act: Option<Act>) {
    let public = act.is_some_and(|a| matches!(a.access(), Access::Public));
    if public {
        // An empty requirement: no token needed.
        op.security = Some(vec![SecurityRequirement::default()]);
    }
    let has = |place: ParameterIn| op.parameters.iter().flatten().any(|p| p.parameter_in == place);
    let (in_path, in_query, body) = (path.contains('{'), has(ParameterIn::Query), op.request_body.is_some());
    let writes = method != "GET";
    let mut answers: Vec<(u16, &str)> = vec![
        (408, "La requête a pris trop de temps."),
        (500, "Erreur interne : rien n'a été modifié."),
        (503, "Service momentanément indisponible (base de données injoignable)."),
    ];
    if !public {
        answers.push((401, "Jeton absent, invalide, expiré ou révoqué."));
        answers.push((403, "Le rôle ou l'organisation de l'appelant ne permet pas cette action."));
    }
    if in_path || in_query || body {
        answers.push((400, "Chemin, paramètre ou corps mal formé."));
        answers.push((422, "Demande refusée : une valeur est invalide (voir `code` et `detail`)."));
    }
    if in_path || in_query {
        // A path or a filter (`?order=`, `?site=`) names something that is not there.
        answers.push((404, "Introuvable, ou pas accessible à l'appelant."));
    }
    if body {
        answers.push((413, "Corps trop volumineux."));
        answers.push((415, "Corps attendu en JSON (Content-Type: application/json)."));
    }
    if writes {
        answers.push((409, "L'état des choses ne permet pas cette action maintenant."));
        answers.push((422, "Demande refusée : une valeur est invalide (voir `code` et `detail`)."));
    }
    if act.is_some_and(|a| RATE_LIMITED.contains(&a)) {
        answers.push((429, "Trop de requêtes : réessayez après le délai de l'en-tête Retry-After."));
    }
    for (status, description) in answers {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
                    .build(),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    /// Every operation has its own id: client generators name their functions after them.
    #[test]
    fn operation_ids_are_unique() {
        let (_, doc) = crate::http::api();
        let mut seen = std::collections::HashMap::new();
        for (path, item) in &doc.paths.paths {
            for op in [&item.get, &item.post, &item.put, &item.patch, &item.delete].into_iter().flatten() {
                let id = op.operation_id.clone().unwrap_or_default();
                assert!(!id.is_empty(), "{path}: no operationId");
                if let Some(other) = seen.insert(id.clone(), path.clone()) {
                    panic!("operationId « {id} » is used by {other} and {path}");
                }
            }
        }
        assert!(seen.len() > 70, "{} operations", seen.len());
    }

    /// The public operations of the policy table need no token in the document, and only they.
    #[test]
    fn public_operations_need_no_token() {
        let (_, doc) = crate::http::api();
        let communes = doc.paths.paths["/api/v1/open-data/communes.csv"].get.as_ref().unwrap();
        let json = serde_json::to_value(&communes.security).unwrap();
        assert_eq!(json, serde_json::json!([{}]));
        let orders = doc.paths.paths["/api/v1/orders"].get.as_ref().unwrap();
        assert!(orders.security.is_none(), "the document's default (bearer) applies");
        for status in ["401", "403", "408", "500", "503"] {
            assert!(orders.responses.responses.contains_key(status), "{status}");
        }
        let redeem = doc.paths.paths["/api/v1/sites/{id}/redemptions"].post.as_ref().unwrap();
        for status in ["400", "404", "409", "413", "415", "422", "429"] {
            assert!(redeem.responses.responses.contains_key(status), "{status}");
        }
    }
}
