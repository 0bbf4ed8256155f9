//! `GET /api/sites`: the sites the logged-in user may read.

use serde::{Deserialize, Serialize};
use worker::{Env, Request};

use crate::db::d1;
use crate::http::{json, RouteResult};
use crate::session::require_user;

#[derive(Serialize, Deserialize)]
struct SiteRow {
    id: String,
    name: String,
    timezone: String,
    role: String,
}

pub async fn list(req: Request, env: &Env) -> RouteResult {
    let user = require_user(&req, env).await?;
    let db = d1(env)?;
    let statement = if user.is_admin != 0 {
        db.prepare("SELECT id, name, timezone, 'owner' AS role FROM sites ORDER BY name")
    } else {
        db.prepare(
            "SELECT s.id, s.name, s.timezone, m.role FROM sites s JOIN memberships m ON m.site_id = s.id \
             WHERE m.user_id = ?1 ORDER BY s.name",
        )
        .bind(&[(user.id as f64).into()])?
    };
    let sites: Vec<SiteRow> = statement.all().await?.results()?;
    json(200, &serde_json::json!({ "sites": sites }))
}
