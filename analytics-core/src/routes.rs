//! Every route of the Worker, written once: its operation, method, path, who may call it, what
//! the audit log records, and its documentation. The Worker finds a request's route here,
//! checks its access before a handler runs, dispatches on the operation with an exhaustive
//! `match` (an operation without a handler does not compile), and reads the audit action from
//! the entry; [`openapi::document`] builds the API description (`edge-worker/openapi.json`, kept
//! equal by a snapshot test) from the same table, and the end-to-end role walk calls every
//! route of that file with every role.

pub mod openapi;

pub use api_types::audit::AuditAction;
pub use api_types::Role;

/// An HTTP method a route answers; any other method is answered 405 on a known path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    const ALL: [Method; 6] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Whether a request of this method carries a body the route reads.
    pub fn has_body(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }

    /// Whether a request changes state (and so must come from the dashboard's own origin).
    pub fn changes_state(self) -> bool {
        !matches!(self, Method::Get | Method::Options)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (ingest, health, login, the API description, a public link's site name).
    Public,
    /// Any logged-in user.
    User,
    /// A user with the instance-wide admin flag.
    InstanceAdmin,
    /// A member of the site named by `{site}` (or `?site=`) with at least this role.
    Site(Role),
}

impl Access {
    /// The `x-vigia-access` value in the OpenAPI file.
    pub fn label(self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::User => "user".into(),
            Access::InstanceAdmin => "instance_admin".into(),
            Access::Site(role) => format!("site:{}", role.as_str()),
        }
    }
}

/// What the audit log records for a call, by the format it asks for (`?format=csv` or not): a
/// breakdown is recorded only as a CSV export, and an activity search downloaded as CSV is an
/// export (it counts for the bulk-download rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audit {
    pub json: Option<AuditAction>,
    pub csv: Option<AuditAction>,
}

impl Audit {
    pub const NONE: Audit = Audit {
        json: None,
        csv: None,
    };

    /// The action of a call, knowing whether it asks for CSV.
    pub fn action(self, as_csv: bool) -> Option<AuditAction> {
        if as_csv {
            self.csv
        } else {
            self.json
        }
    }
}

/// The JSON schema of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Text,
    Integer,
    /// `YYYY-MM-DD`.
    Date,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Any other schema, as JSON text.
    Json(&'static str),
    /// A repeatable text parameter (`f=a&f=b`).
    Repeated,
    /// One of the dimensions a breakdown reads (`stats::rollup::DIMENSIONS` but `total`).
    Dimensions,
}

/// A query parameter a route reads (path parameters come from the path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: Schema,
    pub required: bool,
}

const fn param(name: &'static str, description: &'static str, schema: Schema) -> Param {
    Param {
        name,
        description,
        schema,
        required: false,
    }
}

const fn required(name: &'static str, description: &'static str, schema: Schema) -> Param {
    Param {
        required: true,
        ..param(name, description, schema)
    }
}

/// The body a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    /// A JSON object, not described further.
    Object,
    /// A JSON object with this schema (JSON text).
    Schema(&'static str),
    /// A file of this media type (CSV, NDJSON), up to megabytes: the audit log records the
    /// call's query, never such a body.
    Upload(&'static str),
}

/// One route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub operation: Operation,
    pub method: Method,
    /// Path pattern; `{name}` matches one non-empty segment.
    pub path: &'static str,
    pub access: Access,
    pub audit: Audit,
    pub summary: &'static str,
    pub description: &'static str,
    pub tags: &'static [&'static str],
    /// Query parameters, in groups (the stats routes share theirs).
    pub query: &'static [&'static [Param]],
    pub body: Body,
    /// The status of a successful answer.
    pub status: u16,
    /// The successful answer's OpenAPI response object (JSON text), when it says more than OK.
    pub answer: Option<&'static str>,
    /// Authenticated by a site's secret activity key rather than by the access rules.
    pub activity_key: bool,
    /// Authenticated by an app's public key (`POST /api/app/…`), checked in the handler.
    pub app_key: bool,
}

impl Route {
    const fn new(
        operation: Operation,
        method: Method,
        path: &'static str,
        access: Access,
        tag: &'static [&'static str],
        summary: &'static str,
    ) -> Route {
        Route {
            operation,
            method,
            path,
            access,
            audit: Audit::NONE,
            summary,
            description: "",
            tags: tag,
            query: &[],
            body: if matches!(method, Method::Post | Method::Put | Method::Patch) {
                Body::Object
            } else {
                Body::None
            },
            status: 200,
            answer: None,
            activity_key: false,
            app_key: false,
        }
    }

    const fn describe(mut self, description: &'static str) -> Route {
        self.description = description;
        self
    }

    /// Recorded in the audit log as `action`, whatever the format.
    const fn audit(mut self, action: AuditAction) -> Route {
        self.audit = Audit {
            json: Some(action),
            csv: Some(action),
        };
        self
    }

    /// Recorded as `json` when answered as JSON and `csv` when asked for as CSV.
    const fn audit_by_format(
        mut self,
        json: Option<AuditAction>,
        csv: Option<AuditAction>,
    ) -> Route {
        self.audit = Audit { json, csv };
        self
    }

    const fn query(mut self, query: &'static [&'static [Param]]) -> Route {
        self.query = query;
        self
    }

    const fn body(mut self, schema: &'static str) -> Route {
        self.body = Body::Schema(schema);
        self
    }

    const fn upload(mut self, media_type: &'static str) -> Route {
        self.body = Body::Upload(media_type);
        self
    }

    const fn no_body(mut self) -> Route {
        self.body = Body::None;
        self
    }

    const fn status(mut self, status: u16) -> Route {
        self.status = status;
        self
    }

    const fn answer(mut self, response: &'static str) -> Route {
        self.answer = Some(response);
        self
    }

    const fn activity_key(mut self) -> Route {
        self.activity_key = true;
        self
    }

    const fn app_key(mut self) -> Route {
        self.app_key = true;
        self
    }
}

/// Declares `Operation` (one variant per route) and `ROUTES` (one entry per variant) from one
/// list, so an operation is named once and always has its entry.
macro_rules! routes {
    ($(
        $(#[doc = $doc:literal])*
        $op:ident: $method:ident $path:literal, $access:expr, $tag:literal,
            $summary:literal $(. $call:ident ( $($arg:expr),* ))* ;
    )*) => {
        /// What a request asks for: one operation per route of [`ROUTES`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $( $(#[doc = $doc])* $op, )*
        }

        /// Every route, in the order the API description lists them.
        pub const ROUTES: &[Route] = &[$(
            Route::new(Operation::$op, Method::$method, $path, $access, &[$tag], $summary)
                $(.$call($($arg),*))*,
        )*];
    };
}

use Access::*;
use AuditAction as A;
use Role::*;

/// The site and period every stats and export route reads.
const STATS_QUERY: &[Param] = &[
    required("site", "Site id", Schema::Text),
    PERIOD,
    FROM,
    TO,
    param(
        "f",
        // `{dimensions}`: `stats::filter::filter_dimensions`, filled in by the API description.
        "Filter `dimension:value`, repeatable (at most 10); filters select visits and combine \
         with AND. Dimensions: {dimensions}. A prop filter's value is event, key and value \
         separated by U+001F; the event is a custom event's name, or `pageview` for page \
         views' properties.",
        Schema::Repeated,
    ),
];
const PERIOD: Param = param(
    "period",
    "today, yesterday, 7d, 30d (default), month (to date), last_month, 12mo, custom (with \
     from/to). Computed in the site's time zone.",
    Schema::OneOf(&crate::stats::period::PRESETS),
);
const FROM: Param = param(
    "from",
    "First day (YYYY-MM-DD) of a custom period",
    Schema::Date,
);
const TO: Param = param(
    "to",
    "Last day (YYYY-MM-DD, inclusive) of a custom period",
    Schema::Date,
);
const PERIOD_QUERY: &[Param] = &[PERIOD, FROM, TO];
const FILTER: Schema = Schema::Text;
const ACTIVITY_SEARCH_QUERY: &[Param] = &[
    param("user_id", "Filter", FILTER),
    param("session_id", "Filter", FILTER),
    param("type", "Filter", FILTER),
    param("entity_type", "Filter", FILTER),
    param("entity_id", "Filter", FILTER),
    param("outcome", "Filter", FILTER),
    param("before", "Keyset: ts:id of the last row seen", Schema::Text),
    param("limit", "Rows, 1-200 (default 50)", Schema::Integer),
    param(
        "format",
        "json (default) or csv",
        Schema::OneOf(&["json", "csv"]),
    ),
];
/// Paging by id: what `before` counts and how many `limit` allows.
const fn paged(before: &'static str, limit: &'static str) -> [Param; 2] {
    [
        param("before", before, Schema::Integer),
        param("limit", limit, Schema::Integer),
    ]
}
const AUDIT_QUERY: &[Param] = &paged("Entries older than this id", "Entries, 1-200 (default 50)");
const ALERTS_QUERY: &[Param] = &paged("Alerts older than this id", "Alerts, 1-200 (default 50)");
const BREAKDOWN_QUERY: &[Param] = &[
    required("dimension", "The dimension", Schema::Dimensions),
    param(
        "limit",
        "Rows, 1-100 (default 10)",
        Schema::Json(r#"{"type":"integer","minimum":1,"maximum":100}"#),
    ),
    param(
        "format",
        "json (default) or csv; the CSV's columns are value, visitors, visits, pageviews, \
         bounce_rate, visit_duration_s, engaged_s, events, share_of_visitors",
        Schema::OneOf(&["json", "csv"]),
    ),
];
const REPORT_KINDS: Schema = Schema::OneOf(&api_types::reports::ReportKind::NAMES);

/// `hash_routing` in a site's body.
macro_rules! hash_routing {
    () => {
        r#""hash_routing":{"type":"boolean","description":"keep URL fragments in stored paths (single-page apps routing with #/); the snippet must carry data-hash too (default false)"}"#
    };
}

routes! {
    EventIngest: Post "/api/event", Public, "ingest", "Ingest a batch of events"
        .describe("The collector's endpoint. Body: the wire batch (see README): `{site, events: [{kind, url, referrer?, name?, screen_width?, engaged_ms?, scroll?, props?, revenue?: {amount, currency}}]}`. One bad field never costs a batch: an event that cannot be kept (unknown kind, bad url, a custom event without a name) is dropped alone, a bad optional field is dropped alone, long names and property values are cut. 202 once the kept events are durably buffered, with `{accepted, dropped, request_id, problems: [{event, field, error}]}` (at most 20 problems listed; `problems_omitted` counts the rest). An event whose referrer is on the maintained referrer-spam list is not stored: it counts as dropped, not accepted, and `dropped_reasons` (present only then) says why, e.g. `{\"referrer_spam\": 2}`. 400 only for a body that cannot be a batch (not JSON, not an object, site or events missing or of the wrong type); 413 for a body over 32 KiB or more than 50 events; 404 unknown site; 403 an event from a host not registered for the site, or a request whose `Origin` is not one of the site's hostnames (`origin_not_allowed`); a request without `Origin` and the `Sec-Fetch-*` headers browsers send is kept but stored as a bot; 429 rate limits (per visitor, per address, per site); 503 full buffer. CORS open (the only route that is).")
        .status(202);
    EventPreflight: Options "/api/event", Public, "ingest", "CORS preflight for ingest"
        .status(204);
    /// Authenticated by the site's secret activity key, checked in the handler.
    ActivityIngest: Post "/api/activity", Public, "activity", "Report server-side activity (a site's backend)"
        .describe("Authenticated with the site's secret activity key: `Authorization: Bearer vsk_…` (from POST /api/sites/{site}/activity-key). Body: one record or `{records: [...]}` (at most 100). Fields: type (login, logout, login_failed, token_refresh, page_view, data_create, data_update, data_delete, data_view, file_upload, file_download, error, custom, export), user_id, session_id, action, entity_type, entity_id, outcome (success, failure, error; derived from status_code when absent), status_code, duration_ms, ip and user_agent (enriched, then dropped: the address is kept only as a keyed fingerprint), details (sanitised: password, token, secret, authorization and similar keys removed at any depth). 202 when stored.")
        .status(202)
        .activity_key();
    Health: Get "/health", Public, "meta", "Health of D1 and the buffer";
    OpenApi: Get "/api/openapi.json", Public, "meta", "This document";
    SetupStatus: Get "/api/setup", Public, "account", "Whether first-start setup is open and whether the caller is logged in";
    Setup: Post "/api/setup", Public, "account", "Create the first admin (only while no user exists)"
        .describe("Needs the instance's secret `VIGIA_SETUP_TOKEN` as `Authorization: Bearer <token>` (403 `setup_token_required` without it, 403 `setup_token_not_configured` when the instance has none). Exactly one request succeeds however many race; 409 once any user exists.")
        .status(201)
        .body(r#"{"type":"object","required":["email","password"],"properties":{"email":{"type":"string"},"password":{"type":"string"},"site":{"type":"object"}}}"#)
        .audit(A::Setup);
    /// Recorded as `login`, or `login_failed` when it does not answer 200.
    Login: Post "/api/login", Public, "account", "Log in (sets the session cookie)"
        .describe("Failed logins are throttled per account and per address fingerprint: 429 `too_many_attempts` with `Retry-After` (seconds) while a lock holds; 401 for a wrong email or password.")
        .body(r#"{"type":"object","required":["email","password"],"properties":{"email":{"type":"string"},"password":{"type":"string"}}}"#)
        .audit(A::Login);
    /// Authenticated by the signature in the link each report carries.
    ReportUnsubscribePage: Get "/api/reports/unsubscribe", Public, "reports", "Unsubscribe page of a report mail"
        .describe("Needs the `site`, `user`, `kind` and `sig` of the link in the mail (signed by the instance; no login). Shows a confirmation button; following the link alone changes nothing.")
        .query(&[UNSUBSCRIBE_QUERY]);
    ReportUnsubscribe: Post "/api/reports/unsubscribe", Public, "reports", "Unsubscribe (confirmation or one-click)"
        .describe("Same query as the page; also the RFC 8058 one-click target of the mail's `List-Unsubscribe` header. Answers an HTML page.")
        .query(&[UNSUBSCRIBE_QUERY])
        .no_body()
        .audit(A::ReportUnsubscribe);
    ShareInfo: Get "/api/share/{token}", Public, "sites", "Which site a public read-only link opens"
        .describe("404 when the link is off. Public links (this route and stats read with `X-Vigia-Share`) are rate-limited per address: 429 `rate_limited` with `Retry-After` past 240 requests a minute (`VIGIA_SHARE_REQUESTS_PER_MINUTE`).");
    InviteAccept: Post "/api/invites/accept", Public, "account", "Accept an invitation: set your password and log in"
        .describe("The token comes from the invitation link (`/?invite=<token>`); a link works once, for 7 days.")
        .body(r#"{"type":"object","required":["token","password"],"properties":{"token":{"type":"string"},"password":{"type":"string","minLength":10}}}"#)
        .audit(A::InviteAccept);
    Logout: Post "/api/logout", User, "account", "Log out (ends this session)"
        .no_body()
        .audit(A::Logout);
    Me: Get "/api/me", User, "account", "The logged-in user";
    PasswordChange: Post "/api/me/password", User, "account", "Change your password"
        .describe("Needs the current password; ends your other sessions and revokes your API tokens. You get a mail about it (when mail is on).")
        .body(r#"{"type":"object","required":["current","new"],"properties":{"current":{"type":"string"},"new":{"type":"string","minLength":10}}}"#)
        .audit(A::PasswordChange);
    /// Invitations to sites, for the logged-in user's own email only.
    MyInvitations: Get "/api/me/invitations", User, "account", "Your pending invitations to sites"
        .describe("Invitations sent to your account's email that have not expired (14 days): `{invitations: [{id, site, site_name, role, invited_by, expires_at}]}`. You become a member only by accepting one.");
    /// Joining a site happens on the invited person's answer, so it is recorded then.
    MyInvitationAccept: Post "/api/me/invitations/{id}/accept", User, "account", "Accept an invitation to a site"
        .describe("You become a member with the invited role. 404 for an invitation that is not yours, used or expired.")
        .audit(A::SiteInviteAccept);
    MyInvitationDecline: Delete "/api/me/invitations/{id}", User, "account", "Decline an invitation to a site"
        .audit(A::SiteInviteDecline);
    TokensList: Get "/api/tokens", User, "tokens", "Your API tokens (never the token values)";
    TokenCreate: Post "/api/tokens", User, "tokens", "Create an API token"
        .describe("The token is in this answer only. Tokens authenticate GET /api/stats/* and /api/export/* with `Authorization: Bearer vgt_…`, with your roles. Body: `{name, expires_in_days?, site?}`: a token expires after `expires_in_days` (1-365, default 90) and, with `site`, reads that site only (403 `token_scope` elsewhere). Changing your password revokes every token. You get a mail when a token is created (when mail is on).")
        .status(201)
        .body(r#"{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"expires_in_days":{"type":"integer","minimum":1,"maximum":365},"site":{"type":"string"}}}"#)
        .audit(A::TokenCreate);
    TokenRevoke: Delete "/api/tokens/{id}", User, "tokens", "Revoke one of your API tokens"
        .audit(A::TokenRevoke);
    EventsImport: Post "/api/sites/{site}/import/events", Site(Admin), "storage", "Bulk-load raw events of past days into the site's cold shards"
        .describe("Body: NDJSON, one enriched event per line (the fields of the CSV export plus `id`, `session` and `visitor`; `ts` in UTC ms), at most 50,000 lines and 16 MiB per request. Events of sessions that started before yesterday (UTC) go straight into the cold shards, marked imported; later ones are counted as `too_recent` and not stored. A bad line is skipped and counted by reason. Each page is stored once however often it is sent (`already_stored`).")
        .upload("application/x-ndjson")
        .audit(A::EventsImport);
    StorageStatus: Get "/api/admin/storage", InstanceAdmin, "storage", "Where each site's data lives: sealing position and cold shards"
        .describe("Per site: `sealed_until` (sessions that started before it are in the cold shards, later ones in D1) and each shard (UTC month) with its events, sessions and bytes. See docs/storage.md.");
    StorageSeal: Post "/api/admin/seal", InstanceAdmin, "storage", "Move the days that are ready from D1 into the cold shards now"
        .describe("What the hourly job does, at once: for every site, whole UTC days before yesterday move from D1 into the site's shards (at most 31 days per site per call; `more: true` says call again). `./vigia migrate-storage` calls it until nothing is left. Safe to repeat or interrupt.")
        .audit(A::StorageSeal);
    UsersList: Get "/api/users", InstanceAdmin, "users", "All users";
    UserCreate: Post "/api/users", InstanceAdmin, "users", "Create a user, with an initial password or an invitation"
        .describe("Without `password` the answer carries `invite_url`, a one-time link (7 days) where the person sets their own password.")
        .status(201)
        .body(r#"{"type":"object","required":["email"],"properties":{"email":{"type":"string"},"password":{"type":"string","minLength":10,"description":"omit to invite"},"is_admin":{"type":"boolean"}}}"#)
        .audit(A::UserCreate);
    UserDelete: Delete "/api/users/{id}", InstanceAdmin, "users", "Delete a user"
        .audit(A::UserDelete);
    SitesList: Get "/api/sites", User, "sites", "Sites you can read, with your role";
    SiteCreate: Post "/api/sites", User, "sites", "Add a site (you become its owner)"
        .describe("A user who is not an instance admin may own at most 10 sites (`VIGIA_MAX_SITES_PER_USER`): 403 `too_many_sites`.")
        .status(201)
        .body(concat!(r#"{"type":"object","required":["hostnames"],"properties":{"id":{"type":"string"},"name":{"type":"string"},"hostnames":{"type":"array","items":{"type":"string"}},"timezone":{"type":"string","description":"IANA name, default UTC"},"query_allow_list":{"type":"string"},"#, hash_routing!(), "}}"))
        .audit(A::SiteCreate);
    SiteGet: Get "/api/sites/{site}", Site(Viewer), "sites", "A site's settings, snippet and installation status"
        .describe("`first_event_at` is null until the first event has been stored. With `hash_routing` on, the snippet carries `data-hash`.");
    SiteUpdate: Patch "/api/sites/{site}", Site(Admin), "sites", "Edit name, hostnames, time zone, kept query parameters, retention, hash routing"
        .describe("Ingest applies a change within a minute (each Worker isolate caches a site's settings for 60 s).")
        .body(concat!(r#"{"type":"object","required":[],"properties":{"name":{"type":"string"},"hostnames":{"type":"array","items":{"type":"string"}},"timezone":{"type":"string"},"query_allow_list":{"type":"string"},"retention_days":{"type":"integer","minimum":30,"maximum":3650,"description":"raw events are deleted after this many days (default 395)"},"#, hash_routing!(), "}}"))
        .audit(A::SiteUpdate);
    SiteDelete: Delete "/api/sites/{site}", Site(Owner), "sites", "Delete a site and all its data"
        .describe("Buffered events, raw events, rollups, goals, funnels, members and the public link.")
        .audit(A::SiteDelete);
    SiteMembersList: Get "/api/sites/{site}/members", Site(Admin), "sites", "Members and their roles, and pending invitations"
        .describe("`{members: [{user_id, email, role}], invitations: [{email, role, expires_at}]}`.");
    SiteMemberSet: Put "/api/sites/{site}/members", Site(Admin), "sites", "Invite a person to the site with a role (or change a member's role)"
        .describe("Only owners may grant or change the owner role. From an instance admin, an existing account becomes a member at once (200, `{user_id, email, role}`; 404 for an unknown email). From anyone else the answer is 202 `{email, role, status: \"invited\", message}` whether or not an account has this email: the person becomes a member only when they accept (GET /api/me/invitations). A member's role changes at once.")
        .body(r#"{"type":"object","required":["email","role"],"properties":{"email":{"type":"string"},"role":{"type":"string","enum":["owner","admin","auditor","viewer"]}}}"#)
        .audit(A::RoleChange);
    SiteMemberRemove: Delete "/api/sites/{site}/members/{user}", Site(Admin), "sites", "Remove a member"
        .audit(A::MemberRemove);
    SiteShareSet: Post "/api/sites/{site}/share", Site(Admin), "sites", "Turn the public read-only link on (new token) or off"
        .body(r#"{"type":"object","required":["enabled"],"properties":{"enabled":{"type":"boolean"}}}"#)
        .audit(A::PublicLinkChange);
    GoalsList: Get "/api/sites/{site}/goals", Site(Viewer), "goals", "The site's goals";
    GoalCreate: Post "/api/sites/{site}/goals", Site(Admin), "goals", "Add a goal (custom event name or page path)"
        .status(201)
        .body(r#"{"type":"object","required":["kind","value"],"properties":{"kind":{"type":"string","enum":["event","page"]},"value":{"type":"string"}}}"#)
        .audit(A::GoalCreate);
    GoalDelete: Delete "/api/sites/{site}/goals/{id}", Site(Admin), "goals", "Delete a goal"
        .audit(A::GoalDelete);
    FunnelsList: Get "/api/sites/{site}/funnels", Site(Viewer), "goals", "The site's funnels";
    FunnelCreate: Post "/api/sites/{site}/funnels", Site(Admin), "goals", "Add a funnel (2-8 ordered steps)"
        .status(201)
        .body(r#"{"type":"object","required":["name","steps"],"properties":{"name":{"type":"string"},"steps":{"type":"array","minItems":2,"maxItems":8,"items":{"type":"object","properties":{"kind":{"type":"string","enum":["event","page"]},"value":{"type":"string"}}}}}}"#)
        .audit(A::FunnelCreate);
    FunnelDelete: Delete "/api/sites/{site}/funnels/{id}", Site(Admin), "goals", "Delete a funnel"
        .audit(A::FunnelDelete);
    SiteAudit: Get "/api/sites/{site}/audit", Site(Auditor), "audit", "The site's audit log, newest first"
        .describe("Every export, deletion, settings change and role change made on this site: who, when, what, outcome and from where (country, browser and OS, a keyed hash of the address). Append-only. Page with `before` (an entry id) and `limit` (at most 200).")
        .query(&[AUDIT_QUERY]);
    InstanceAudit: Get "/api/audit", InstanceAdmin, "audit", "The whole instance's audit log, newest first"
        .describe("Everything in the site logs plus logins (ok and failed), logouts, password changes, users and API tokens.")
        .query(&[AUDIT_QUERY]);
    Compliance: Get "/api/sites/{site}/compliance", Site(Auditor), "compliance", "The site's compliance report (HTML or CSV)"
        .describe("What is collected and never stored, the retention period and its cutoff, counts of stored raw events, rollup rows and audit entries, the last retention purge, and deletions recorded in the audit log. `format=html` (default) or `csv`.")
        .query(&[&[param("format", "html (default) or csv", Schema::OneOf(&["html", "csv"]))]]);
    ActivityKeyRotate: Post "/api/sites/{site}/activity-key", Site(Admin), "activity", "Create or rotate the site's secret activity key"
        .describe("The key is in this answer only; the previous key stops working.")
        .audit(A::ActivityKeyRotate);
    /// Recorded as a search, or as an export when downloaded as CSV.
    ActivitySearch: Get "/api/sites/{site}/activity", Site(Auditor), "activity", "Search the site's server-side activity"
        .describe("Filters: user_id, session_id, type, entity_type, entity_id (a per-entity audit trail), outcome, and the period (default 30d). Newest first; page with `before` (the last row's `ts` and `id` as `ts:id`) and `limit` (at most 200). `format=csv` answers the whole search as CSV (at most 100,000 rows; columns time, type, user_id, session_id, action, entity_type, entity_id, outcome, status_code, duration_ms, browser, os, device, ip_hash, details), recorded as `export_activity`. Each search is recorded in the audit log.")
        .query(&[PERIOD_QUERY, ACTIVITY_SEARCH_QUERY])
        .audit_by_format(Some(A::ActivitySearch), Some(A::ExportActivity));
    ActivitySessions: Get "/api/sites/{site}/activity/sessions", Site(Auditor), "activity", "Active sessions"
        .describe("Sessions with activity in the last 30 minutes that did not end with a logout.");
    ActivitySummary: Get "/api/sites/{site}/activity/summary", Site(Auditor), "activity", "Activity counts per type and outcome for the period"
        .query(&[PERIOD_QUERY]);
    ActivityUserDelete: Delete "/api/sites/{site}/activity/users/{user}", Site(Admin), "activity", "Delete all activity of one user id"
        .describe("For erasure requests; recorded in the audit log.")
        .audit(A::UserDataDelete);
    ReportPreview: Get "/api/sites/{site}/reports/preview", Site(Viewer), "reports", "Preview an email report"
        .describe("The report as it is mailed (without the unsubscribe link). `kind=monthly` (default) with `month=YYYY-MM`, or `kind=weekly` with `date=YYYY-MM-DD` (any day of the week); without them, the last complete period. `format=html` (default; static, no scripts), `text` (the plain-text part) or `json` (subject and figures).")
        .query(&[&[
            param("kind", "monthly (default) or weekly", REPORT_KINDS),
            param("month", "YYYY-MM, for a monthly report", Schema::Text),
            param("date", "YYYY-MM-DD, any day of the week, for a weekly report", Schema::Date),
            param("format", "html (default), text or json", Schema::OneOf(&["html", "text", "json"])),
        ]]);
    ReportSubscription: Get "/api/sites/{site}/reports/subscription", Site(Viewer), "reports", "Which reports you receive for this site"
        .describe("Owners receive the monthly report unless they turn it off; other members opt in. `member` is false for an instance admin who is not a member (reports go to members only).");
    ReportSubscriptionSet: Put "/api/sites/{site}/reports/subscription", Site(Viewer), "reports", "Choose which reports you receive"
        .describe("Body: `{monthly?, weekly?}` (booleans; a missing one keeps its value).")
        .body(r#"{"type":"object","required":[],"properties":{"monthly":{"type":"boolean"},"weekly":{"type":"boolean"}}}"#)
        .audit(A::ReportSubscriptionChange);
    ReportsSent: Get "/api/sites/{site}/reports/sent", Site(Admin), "reports", "Reports sent for this site"
        .describe("The last 100 sends: recipient, kind, period, status (sending, sent, failed), attempts, provider, message id, error.");
    SiteAlerts: Get "/api/sites/{site}/alerts", Site(Auditor), "alerts", "Suspicious-activity alerts"
        .describe("What fired, newest first: rule, subject (an address fingerprint, a user id, or the whole site), window, count and threshold; with the rules and the thresholds in force (`VIGIA_ALERT_RULES`). Page with `before` (an alert id) and `limit` (at most 200).")
        .query(&[ALERTS_QUERY]);
    /// Instance-wide alerts: Vigia's own failed logins.
    InstanceAlerts: Get "/api/alerts", InstanceAdmin, "alerts", "Instance alerts (failed Vigia logins)"
        .describe("Alerts about Vigia's own failed logins, per account and per address fingerprint (rules `vigia_failed_logins_per_account`, `vigia_failed_logins_per_address` in `VIGIA_ALERT_RULES`), newest first; mailed to instance admins. Page with `before` and `limit` (at most 200).")
        .query(&[ALERTS_QUERY]);
    StatsOverview: Get "/api/stats/overview", Site(Viewer), "stats", "Totals, the previous period's totals and the chart"
        .query(&[STATS_QUERY])
        .answer(r##"{"description":"OK","content":{"application/json":{"schema":{"type":"object","properties":{"range":{"$ref":"#/components/schemas/Range"},"filters":{"type":"array","items":{"type":"string"}},"totals":{"$ref":"#/components/schemas/Metrics"},"previous":{"type":"object","properties":{"range":{"$ref":"#/components/schemas/Range"},"totals":{"$ref":"#/components/schemas/Metrics"}}},"series":{"type":"object","properties":{"bucket":{"type":"string"},"points":{"type":"array","items":{"$ref":"#/components/schemas/SeriesPoint"}}}},"imported_days":{"type":"integer","description":"days of the range whose figures come from imported history (days with imported rows and no collected data)"}}}}}}"##);
    StatsTotals: Get "/api/stats/totals", Site(Viewer), "stats", "Totals for the period"
        .query(&[STATS_QUERY]);
    StatsTimeseries: Get "/api/stats/timeseries", Site(Viewer), "stats", "The chart: page views and visitors per hour, day or month"
        .query(&[STATS_QUERY]);
    StatsPages: Get "/api/stats/pages", Site(Viewer), "stats", "Top pages (short form)"
        .query(&[STATS_QUERY, &[param("limit", "Rows, 1-100 (default 10)", Schema::Integer)]]);
    /// Recorded only when exported as CSV.
    StatsBreakdown: Get "/api/stats/breakdown", Site(Viewer), "stats", "One dimension's rows, as JSON or CSV"
        .query(&[STATS_QUERY, BREAKDOWN_QUERY])
        .answer(r##"{"description":"OK","content":{"application/json":{"schema":{"type":"object","properties":{"dimension":{"type":"string"},"rows":{"type":"array","items":{"$ref":"#/components/schemas/BreakdownRow"}}}}},"text/csv":{"schema":{"type":"string"}}}}"##)
        .audit_by_format(None, Some(A::ExportBreakdown));
    StatsRealtime: Get "/api/stats/realtime", Site(Viewer), "stats", "Visitors in the last 5 minutes and the pages they are on"
        .query(&[STATS_QUERY]);
    StatsGoals: Get "/api/stats/goals", Site(Viewer), "stats", "Each goal's conversions, conversion rate and revenue"
        .describe("Per goal: `visitors` (unique conversions), `conversions`, `conversion_rate` (percent of the period's visitors) and `revenue`, the custom events' revenue summed per currency as exact decimal strings, e.g. `[{\"currency\": \"EUR\", \"amount\": \"12.50\"}]` (net of refunds; empty for page goals).")
        .query(&[STATS_QUERY]);
    StatsFunnel: Get "/api/stats/funnel", Site(Viewer), "stats", "A funnel's visits, conversion and drop-off per step"
        .query(&[STATS_QUERY, &[required("funnel", "Funnel id", Schema::Integer)]]);
    StatsBots: Get "/api/stats/bots", Site(Viewer), "stats", "Bots: flagged events, why, which user agents, and events dropped on purpose"
        .describe("Bot events are stored but never counted in the other stats. For the period: `events` and `visitors` flagged as bots; `reasons` (top 10 `{value, events}`; value one of verified_bot, empty_user_agent, known_crawler, crawler_like, automation, no_fetch_metadata, no_accept_language, hosting_network, or `unrecorded` for bots flagged before reasons were stored); `user_agents` (top 10 user-agent families, the `browser` dimension of flagged events); `dropped` (`{value, events}` per reason, e.g. `referrer_spam`, counted per whole UTC day) and their sum `dropped_events`. Filters (`f`) do not apply.")
        .query(&[STATS_QUERY]);
    ExportEvents: Get "/api/export/events", Site(Auditor), "export", "Raw events of the period as CSV (streamed)"
        .describe("At most 1,000,000 rows (header `X-Vigia-Export-Limit`); narrow the period for more. Columns: time, kind, name, path, query, referrer_host, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, browser_version, os, os_version, device, country, region, city, screen, engaged_ms, scroll, props, session, bot, revenue, revenue_currency. Visitor hashes are not exported; revenue is an exact decimal (empty without revenue).")
        .query(&[STATS_QUERY])
        .answer(r#"{"description":"CSV, header row first","content":{"text/csv":{"schema":{"type":"string"}}}}"#)
        .audit(A::ExportEvents);
    /// Authenticated by the app's public key, checked in the handler (docs/apps.md).
    AppBatch: Post "/api/app/batch", Public, "apps", "Upload a batch of an install's usage records (the vigia-agent)"
        .describe("`Authorization: Bearer vpk_…` (the app key, shipped inside the app). Body: `{batch_id, install_id, app_version, os, os_version, dropped, records: [{seq, ts, kind, name, session, active_ms, props}]}` (at most 500 records, 256 KiB). A batch id seen before for the install answers `duplicate: true` and stores nothing; a record is identified by (install, seq), so a record sent in two batches is stored once. A bad record is refused alone (`problems`). 429 with `Retry-After` past the per-app or per-install rate limit. Answer: `{batch_id, duplicate, stored, refused, problems}`.")
        .body(r#"{"type":"object","required":["batch_id","install_id","records"]}"#)
        .app_key();
    AppEmail: Post "/api/app/email", Public, "apps", "Link an install to its user's email, with consent (a confirmation mail is sent)"
        .describe("`Authorization: Bearer vpk_…`. Body: `{install_id, email, consent}`. The address receives a confirmation link; no report goes to it until the link is followed. Answers 202 whether or not a mail was sent (rate-limited per install and per address).")
        .status(202)
        .body(r#"{"type":"object","required":["install_id","email","consent"]}"#)
        .app_key();
    AppErase: Post "/api/app/erase", Public, "apps", "Erase everything stored about one install"
        .describe("`Authorization: Bearer vpk_…`. Body: `{install_id}`. The install's records, batches and its link to an email are deleted; a user left without installs is deleted too.")
        .body(r#"{"type":"object","required":["install_id"]}"#)
        .audit(A::AppInstallErase)
        .app_key();
    /// Authenticated by the token in the mailed link.
    AppConfirmPage: Get "/api/app/confirm", Public, "apps", "Confirmation page of an app user's email"
        .describe("Shows what the user agreed to and a button; following the link alone confirms nothing (mail scanners follow links).")
        .query(&[APP_CONFIRM_QUERY]);
    AppConfirm: Post "/api/app/confirm", Public, "apps", "Confirm an app user's email"
        .describe("Same query as the page. Answers an HTML page.")
        .query(&[APP_CONFIRM_QUERY])
        .no_body()
        .audit(A::AppEmailConfirm);
    /// Authenticated by the signature in the link each usage report carries.
    AppUnsubscribePage: Get "/api/app/unsubscribe", Public, "apps", "Unsubscribe page of a usage report"
        .query(&[APP_UNSUBSCRIBE_QUERY]);
    AppUnsubscribe: Post "/api/app/unsubscribe", Public, "apps", "Stop the monthly usage report (confirmation or one-click)"
        .describe("Same query as the page; also the RFC 8058 one-click target of the mail's `List-Unsubscribe` header. Answers an HTML page.")
        .query(&[APP_UNSUBSCRIBE_QUERY])
        .no_body()
        .audit(A::AppUsageUnsubscribe);
    AppKeyRotate: Post "/api/sites/{site}/app-key", Site(Admin), "apps", "Create or rotate an app's public key"
        .describe("Only for a site of kind `app`. The previous key stops working: ship the new one with the next release.")
        .no_body()
        .audit(A::AppKeyRotate);
    AppStats: Get "/api/sites/{site}/app/stats", Site(Viewer), "apps", "An app's installs, active users, versions, OS, features, errors and retention by cohort week"
        .query(&[PERIOD_QUERY, APP_STATS_QUERY]);
    AppUserErase: Delete "/api/sites/{site}/app/users/{email}", Site(Admin), "apps", "Erase one app user's data (by email), for an erasure request"
        .describe("Deletes the user's installs' records and the user; the audit log keeps the address only as a keyed hash.")
        .audit(A::AppUserErase);
    MeteringInstance: Get "/api/admin/metering", InstanceAdmin, "metering", "Every site's and app's use per UTC month: received, stored, refused"
        .query(&[METERING_QUERY]);
    MeteringSite: Get "/api/sites/{site}/metering", Site(Admin), "metering", "This site's use per UTC month: received, stored, refused"
        .query(&[METERING_QUERY]);
    /// The body is the CSV file itself; an API token of an admin may call it (`./vigia import`).
    SiteImport: Post "/api/sites/{site}/import", Site(Admin), "import", "Import history from another tool's CSV export"
        .describe("Body: one CSV file (`Content-Type: text/csv`, at most 8 MiB, 100,000 rows). `format=plausible` (default): one table of Plausible's \"Export data\" zip, named by `table` (its file name, e.g. `imported_pages_20240101_20241231.csv`, or the bare table name); it becomes daily rollup rows marked imported, in the site's time zone (a day with collected data ignores them). The tables: visitors, sources, pages, entry_pages, exit_pages, locations, devices, browsers, operating_systems, custom_events. Idempotent: the imported rows of the table's dimensions over the file's days (the file name's range, or the rows' dates) are replaced in one transaction. `format=vigia`: Vigia's own raw-event export (`GET /api/export/events`), stored as raw events. A bad row is skipped and counted (`skipped_reasons`: wrong_cell_count, bad_date, bad_number, date_out_of_range, too_many_rows, unterminated_quote, bad_kind, bad_field); a file without its header's required columns is 400 `missing_columns`, one without a single readable row 422 `no_valid_rows` (nothing is written). Answer: `{format, table, rows_imported, rows_skipped, skipped_reasons, skipped: [{line, reason}] (first 20), days, from, to, daily_rows}`. API tokens may call this route (with their owner's role).")
        .query(&[IMPORT_QUERY])
        .upload("text/csv")
        .audit(A::Import);
}

const APP_CONFIRM_QUERY: &[Param] = &[required(
    "token",
    "The token of the link in the confirmation mail",
    Schema::Text,
)];
const APP_UNSUBSCRIBE_QUERY: &[Param] = &[
    required("user", "App user id", Schema::Integer),
    required("sig", "The link's signature", Schema::Text),
];
const APP_STATS_QUERY: &[Param] = &[param(
    "email",
    "Only the installs linked to this confirmed email (what that user's monthly report shows)",
    Schema::Text,
)];
const METERING_QUERY: &[Param] = &[param(
    "month",
    "YYYY-MM (UTC); default: every month kept",
    Schema::Text,
)];

const IMPORT_QUERY: &[Param] = &[
    param(
        "format",
        "plausible (default) or vigia",
        Schema::OneOf(&crate::import::ImportFormat::NAMES),
    ),
    param(
        "table",
        "Plausible: the file name or table name (imported_visitors, imported_sources, …)",
        Schema::Text,
    ),
];

const UNSUBSCRIBE_QUERY: &[Param] = &[
    required("site", "Site id", Schema::Text),
    required("user", "User id", Schema::Integer),
    required("kind", "monthly or weekly", REPORT_KINDS),
    required("sig", "The link's signature", Schema::Text),
];

/// Path parameters by name (`{site}` → ("site", "shop")).
pub type Params = Vec<(&'static str, String)>;

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    NotFound,
    MethodNotAllowed,
}

fn params_of(pattern: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                params.push((&w[1..w.len() - 1], g.to_string()));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// The route for a request (its method as sent, e.g. `GET`) and its path parameters.
pub fn find(method: &str, path: &str) -> Result<(&'static Route, Params), Miss> {
    let method = Method::parse(method);
    let mut path_known = false;
    for route in ROUTES {
        if let Some(params) = params_of(route.path, path) {
            if Some(route.method) == method {
                return Ok((route, params));
            }
            path_known = true;
        }
    }
    Err(if path_known {
        Miss::MethodNotAllowed
    } else {
        Miss::NotFound
    })
}

/// The entry of an operation.
pub fn route_of(operation: Operation) -> &'static Route {
    ROUTES
        .iter()
        .find(|r| r.operation == operation)
        .expect("the routes! macro gives every operation its entry")
}

/// Routes an API token may call: reading stats and exports, and importing history — a bulk
/// load is scripted (`./vigia import`), and the token still needs its owner's admin role on
/// the site and stays within its site scope. Nothing else that changes state.
pub fn token_may_call(route: &Route) -> bool {
    let reads = route.method == Method::Get
        && (route.path.starts_with("/api/stats/") || route.path.starts_with("/api/export/"));
    matches!(route.access, Site(_)) && (reads || route.operation == Operation::SiteImport)
}

/// Routes a public read-only link may call: the stats of its site.
pub fn share_may_call(route: &Route) -> bool {
    route.method == Method::Get && route.path.starts_with("/api/stats/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_parameters() {
        let (route, params) = find("DELETE", "/api/sites/shop/goals/7").unwrap();
        assert_eq!(route.operation, Operation::GoalDelete);
        assert_eq!(route.access, Site(Admin));
        assert_eq!(params, vec![("site", "shop".into()), ("id", "7".into())]);
        assert_eq!(
            find("PUT", "/api/event").unwrap_err(),
            Miss::MethodNotAllowed
        );
        assert_eq!(find("HEAD", "/health").unwrap_err(), Miss::MethodNotAllowed);
        assert_eq!(
            find("GET", "/api/sites//goals").unwrap_err(),
            Miss::NotFound
        );
        assert_eq!(find("GET", "/nope").unwrap_err(), Miss::NotFound);
        assert!(Owner > Admin && Admin > Auditor && Auditor > Viewer);
    }

    #[test]
    fn each_route_is_one_operation_and_one_method_on_one_path() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert_eq!(route_of(a.operation), a);
            for b in &ROUTES[i + 1..] {
                assert_ne!(a.operation, b.operation);
                assert!(
                    (a.method, a.path) != (b.method, b.path),
                    "{:?} {} twice",
                    a.method,
                    a.path
                );
            }
        }
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn tokens_and_links_only_read() {
        let callable: Vec<&str> = ROUTES
            .iter()
            .filter(|r| token_may_call(r))
            .map(|r| r.path)
            .collect();
        assert!(callable.contains(&"/api/export/events"));
        // The one site-settings path a token reaches is the import (admins only).
        assert_eq!(
            callable
                .iter()
                .filter(|p| p.starts_with("/api/sites"))
                .collect::<Vec<_>>(),
            [&"/api/sites/{site}/import"]
        );
        assert_eq!(route_of(Operation::SiteImport).access, Site(Admin));
        assert!(ROUTES
            .iter()
            .filter(|r| share_may_call(r))
            .all(|r| r.method == Method::Get));
    }

    #[test]
    fn every_route_that_changes_something_is_audited() {
        for route in ROUTES {
            // Ingest (page events, backend activity) is data, not an action in Vigia.
            let ingest = matches!(
                route.operation,
                Operation::EventIngest
                    | Operation::ActivityIngest
                    | Operation::AppBatch
                    | Operation::AppEmail
            );
            if route.method.changes_state() && !ingest {
                assert!(
                    route.audit.json.is_some() && route.audit.csv.is_some(),
                    "{:?} {} is not audited",
                    route.method,
                    route.path
                );
            }
        }
        assert_eq!(
            route_of(Operation::ExportEvents).audit.action(false),
            Some(A::ExportEvents)
        );
    }

    #[test]
    fn csv_downloads_are_exports() {
        let breakdown = route_of(Operation::StatsBreakdown).audit;
        assert_eq!(breakdown.action(false), None);
        assert_eq!(breakdown.action(true), Some(A::ExportBreakdown));
        let search = route_of(Operation::ActivitySearch).audit;
        assert_eq!(search.action(false), Some(A::ActivitySearch));
        assert_eq!(search.action(true), Some(A::ExportActivity));
        assert_eq!(
            route_of(Operation::Login).audit.action(true),
            Some(A::Login)
        );
        assert_eq!(route_of(Operation::StatsTotals).audit.action(true), None);
    }
}
