//! The API description (OpenAPI 3.1), built from the route table. The Worker serves the
//! committed copy, `edge-worker/openapi.json`; a test fails when that copy differs from what
//! the table builds, and rewrites it when run with `UPDATE_OPENAPI=1`.

use serde_json::{json, Map, Value};

use super::{share_may_call, token_may_call, Access, Body, Param, Route, Schema, ROUTES};
use crate::stats::{filter::filter_dimensions, rollup::DIMENSIONS};
use api_types::stats::Dimension;

const INFO_DESCRIPTION: &str = "Privacy-first analytics at the edge. Every route lists who may \
call it in `x-vigia-access`: public, user (logged in), instance_admin, or site:<role> where roles \
rank viewer < auditor < admin < owner (instance admins are owners of every site). A site route \
takes the site from `{site}` or `?site=`; a site you cannot read answers 404. Errors are JSON \
`{error, message}` with a 4xx status. CORS is closed except for ingest; state-changing requests \
from another origin are refused (403).";

/// The committed file's text for the table: pretty JSON and a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

/// The whole description.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths
            .entry(route.path)
            .or_insert_with(|| Value::Object(Map::new()));
        item[route.method.as_str().to_lowercase()] = operation(route);
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Vigia API", "version": "0.3.0", "description": INFO_DESCRIPTION },
        "servers": [{ "url": "/" }],
        "components": components(),
        "paths": paths,
    })
}

fn components() -> Value {
    let integer = json!({ "type": "integer" });
    let mut metrics = Map::new();
    for name in [
        "visitors",
        "pageviews",
        "visits",
        "bounces",
        "duration_ms",
        "engaged_ms",
        "events",
    ] {
        metrics.insert(name.into(), integer.clone());
    }
    metrics.insert(
        "bounce_rate".into(),
        json!({ "type": "number", "description": "percent" }),
    );
    metrics.insert("views_per_visit".into(), json!({ "type": "number" }));
    metrics.insert("visit_duration_s".into(), json!({ "type": "number" }));
    metrics.insert(
        "engaged_s".into(),
        json!({ "type": "number", "description": "visible and focused seconds per visit" }),
    );
    json!({
        "securitySchemes": {
            "session": { "type": "apiKey", "in": "cookie", "name": "vigia_session",
                "description": "Set by POST /api/login." },
            "token": { "type": "http", "scheme": "bearer",
                "description": "An API token (vgt_…) from POST /api/tokens; only for GET /api/stats/* and /api/export/*." },
            "share": { "type": "apiKey", "in": "header", "name": "X-Vigia-Share",
                "description": "A site's public link token; only for GET /api/stats/* of that site." },
            "activity_key": { "type": "http", "scheme": "bearer",
                "description": "A site's secret activity key (vsk_…); only for POST /api/activity." },
            "app_key": { "type": "http", "scheme": "bearer",
                "description": "An app's public key (vpk_…), shipped inside the app; only for POST /api/app/batch, /api/app/email and /api/app/erase." },
        },
        "schemas": {
            "Error": { "type": "object", "required": ["error", "message"],
                "properties": { "error": { "type": "string" }, "message": { "type": "string" } } },
            "Metrics": { "type": "object", "properties": metrics },
            "BreakdownRow": { "allOf": [
                { "$ref": "#/components/schemas/Metrics" },
                { "type": "object", "properties": {
                    "value": { "type": "string" }, "share_of_visitors": { "type": "number" } } },
            ] },
            "SeriesPoint": { "type": "object", "properties": {
                "t": { "type": "integer", "description": "bucket start, UTC ms" },
                "label": { "type": "string", "description": "bucket in the site's time zone" },
                "pageviews": integer,
                "visitors": integer,
            } },
            "Range": { "type": "object", "properties": {
                "from": { "type": "string" }, "to": { "type": "string" },
                "timezone": { "type": "string" },
                "from_ms": { "type": "integer" }, "to_ms": { "type": "integer" },
                "bucket": { "type": "string", "enum": ["hour", "day", "month"] },
            } },
        },
    })
}

/// `POST /api/sites/{site}/goals` → `post_sites_site_goals`, as the ids have always been.
fn operation_id(route: &Route) -> String {
    let text = format!("{}{}", route.method.as_str().to_lowercase(), route.path)
        .replace("/api", "")
        .replace('/', "_")
        .replace(['{', '}'], "")
        .replace(".json", "");
    text.trim_matches('_').to_string()
}

fn operation(route: &Route) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), route.summary.into());
    op.insert("tags".into(), json!(route.tags));
    op.insert("x-vigia-access".into(), route.access.label().into());
    op.insert("operationId".into(), operation_id(route).into());
    if !route.description.is_empty() {
        op.insert("description".into(), route.description.into());
    }
    let parameters = parameters(route);
    if !parameters.is_empty() {
        op.insert("parameters".into(), parameters.into());
    }
    op.insert("security".into(), security(route));
    op.insert("responses".into(), responses(route));
    let body = match route.body {
        Body::None => None,
        Body::Object => Some(("application/json", json!({ "type": "object" }))),
        Body::Schema(text) => Some(("application/json", parsed(text))),
        Body::Upload(media) => Some((media, json!({ "type": "string" }))),
    };
    if let Some((media, schema)) = body {
        op.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { media: { "schema": schema } } }),
        );
    }
    Value::Object(op)
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("a schema in the route table: {e}: {text}"))
}

fn parameters(route: &Route) -> Vec<Value> {
    let in_path = route
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
    let in_query = route
        .query
        .iter()
        .flat_map(|group| group.iter())
        .map(query_param);
    in_path.chain(in_query).collect()
}

fn query_param(p: &Param) -> Value {
    let filterable = filter_dimensions()
        .map(Dimension::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let description = p.description.replace("{dimensions}", &filterable);
    let schema = match p.schema {
        Schema::Text => json!({ "type": "string" }),
        Schema::Integer => json!({ "type": "integer" }),
        Schema::Date => json!({ "type": "string", "format": "date" }),
        Schema::OneOf(words) => json!({ "type": "string", "enum": words }),
        Schema::Json(text) => parsed(text),
        Schema::Dimensions => {
            let readable: Vec<&str> = DIMENSIONS
                .into_iter()
                .filter(|d| *d != Dimension::Total)
                .map(Dimension::as_str)
                .collect();
            json!({ "type": "string", "enum": readable })
        }
        Schema::Repeated => {
            return json!({
                "name": p.name, "in": "query", "description": description,
                "schema": { "type": "array", "items": { "type": "string" } },
                "style": "form", "explode": true,
            })
        }
    };
    json!({ "name": p.name, "in": "query", "required": p.required, "description": description, "schema": schema })
}

/// Who may call: derived from the access rules and what tokens and public links may call.
fn security(route: &Route) -> Value {
    let scheme = |name: &str| json!({ name: [] });
    if route.activity_key {
        return json!([scheme("activity_key")]);
    }
    if route.app_key {
        return json!([scheme("app_key")]);
    }
    if route.access == Access::Public {
        return json!([]);
    }
    let mut ways = vec![scheme("session")];
    if token_may_call(route) {
        ways.push(scheme("token"));
        if share_may_call(route) {
            ways.push(scheme("share"));
        }
    }
    Value::Array(ways)
}

fn responses(route: &Route) -> Value {
    let error = json!({ "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let ok = route
        .answer
        .map_or_else(|| json!({ "description": "OK" }), parsed);
    let mut out = Map::new();
    out.insert(route.status.to_string(), ok);
    if route.access != Access::Public {
        out.insert("401".into(), error.clone());
        out.insert("403".into(), error.clone());
    }
    if matches!(route.access, Access::Site(_)) {
        out.insert("404".into(), error.clone());
    }
    out.insert("400".into(), error);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `edge-worker/openapi.json` is what the table builds; `UPDATE_OPENAPI=1` rewrites it.
    #[test]
    fn the_committed_openapi_file_is_the_tables() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../edge-worker/openapi.json");
        let built = document_text();
        if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
            std::fs::write(file, &built).expect("write edge-worker/openapi.json");
            return;
        }
        let committed = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            committed == built,
            "edge-worker/openapi.json differs from the route table (analytics-core/src/routes.rs); \
             rewrite it with `UPDATE_OPENAPI=1 cargo test -p analytics-core openapi` and commit it"
        );
    }

    #[test]
    fn every_route_is_documented_with_its_access() {
        let doc = document();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.as_str().to_lowercase()];
            assert_eq!(op["x-vigia-access"], route.access.label().as_str());
            assert_eq!(op["summary"], route.summary);
        }
        let documented: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum();
        assert_eq!(documented, ROUTES.len());
        let id = operation_id(super::super::route_of(super::super::Operation::OpenApi));
        assert_eq!(id, "get_openapi");
    }
}
