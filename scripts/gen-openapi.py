# Writes edge-worker/openapi.json: python3 scripts/gen-openapi.py > edge-worker/openapi.json
# The route list must match analytics-core/src/routes.rs (a native test compares them).
import json
routes = [
 ("POST","/api/event","public","Ingest a batch of events","The collector's endpoint. Body: the wire batch (see README): `{site, events: [{kind, url, referrer?, name?, screen_width?, engaged_ms?, scroll?, props?, revenue?: {amount, currency}}]}`. One bad field never costs a batch: an event that cannot be kept (unknown kind, bad url, a custom event without a name) is dropped alone, a bad optional field is dropped alone, long names and property values are cut. 202 once the kept events are durably buffered, with `{accepted, dropped, request_id, problems: [{event, field, error}]}` (at most 20 problems listed; `problems_omitted` counts the rest). An event whose referrer is on the maintained referrer-spam list is not stored: it counts as dropped, not accepted, and `dropped_reasons` (present only then) says why, e.g. `{\"referrer_spam\": 2}`. 400 only for a body that cannot be a batch (not JSON, not an object, site or events missing or of the wrong type); 413 for a body over 32 KiB or more than 50 events; 404 unknown site; 403 an event from a host not registered for the site, or a request whose `Origin` is not one of the site's hostnames (`origin_not_allowed`); a request without `Origin` and the `Sec-Fetch-*` headers browsers send is kept but stored as a bot; 429 rate limits (per visitor, per address, per site); 503 full buffer. CORS open (the only route that is).",["ingest"]),
 ("OPTIONS","/api/event","public","CORS preflight for ingest","",["ingest"]),
 ("POST","/api/activity","public","Report server-side activity (a site's backend)","Authenticated with the site's secret activity key: `Authorization: Bearer vsk_…` (from POST /api/sites/{site}/activity-key). Body: one record or `{records: [...]}` (at most 100). Fields: type (login, logout, login_failed, token_refresh, page_view, data_create, data_update, data_delete, data_view, file_upload, file_download, error, custom, export), user_id, session_id, action, entity_type, entity_id, outcome (success, failure, error; derived from status_code when absent), status_code, duration_ms, ip and user_agent (enriched, then dropped: the address is kept only as a keyed fingerprint), details (sanitised: password, token, secret, authorization and similar keys removed at any depth). 202 when stored.",["activity"]),
 ("GET","/health","public","Health of D1 and the buffer","",["meta"]),
 ("GET","/api/openapi.json","public","This document","",["meta"]),
 ("GET","/api/setup","public","Whether first-start setup is open and whether the caller is logged in","",["account"]),
 ("POST","/api/setup","public","Create the first admin (only while no user exists)","Needs the instance's secret `VIGIA_SETUP_TOKEN` as `Authorization: Bearer <token>` (403 `setup_token_required` without it, 403 `setup_token_not_configured` when the instance has none). Exactly one request succeeds however many race; 409 once any user exists.",["account"]),
 ("POST","/api/login","public","Log in (sets the session cookie)","Failed logins are throttled per account and per address fingerprint: 429 `too_many_attempts` with `Retry-After` (seconds) while a lock holds; 401 for a wrong email or password.",["account"]),
 ("GET","/api/reports/unsubscribe","public","Unsubscribe page of a report mail","Needs the `site`, `user`, `kind` and `sig` of the link in the mail (signed by the instance; no login). Shows a confirmation button; following the link alone changes nothing.",["reports"]),
 ("POST","/api/reports/unsubscribe","public","Unsubscribe (confirmation or one-click)","Same query as the page; also the RFC 8058 one-click target of the mail's `List-Unsubscribe` header. Answers an HTML page.",["reports"]),
 ("GET","/api/share/{token}","public","Which site a public read-only link opens","404 when the link is off. Public links (this route and stats read with `X-Vigia-Share`) are rate-limited per address: 429 `rate_limited` with `Retry-After` past 240 requests a minute (`VIGIA_SHARE_REQUESTS_PER_MINUTE`).",["sites"]),
 ("POST","/api/invites/accept","public","Accept an invitation: set your password and log in","The token comes from the invitation link (`/?invite=<token>`); a link works once, for 7 days.",["account"]),
 ("POST","/api/logout","user","Log out (ends this session)","",["account"]),
 ("GET","/api/me","user","The logged-in user","",["account"]),
 ("POST","/api/me/password","user","Change your password","Needs the current password; ends your other sessions and revokes your API tokens. You get a mail about it (when mail is on).",["account"]),
 ("GET","/api/me/invitations","user","Your pending invitations to sites","Invitations sent to your account's email that have not expired (14 days): `{invitations: [{id, site, site_name, role, invited_by, expires_at}]}`. You become a member only by accepting one.",["account"]),
 ("POST","/api/me/invitations/{id}/accept","user","Accept an invitation to a site","You become a member with the invited role. 404 for an invitation that is not yours, used or expired.",["account"]),
 ("DELETE","/api/me/invitations/{id}","user","Decline an invitation to a site","",["account"]),
 ("GET","/api/tokens","user","Your API tokens (never the token values)","",["tokens"]),
 ("POST","/api/tokens","user","Create an API token","The token is in this answer only. Tokens authenticate GET /api/stats/* and /api/export/* with `Authorization: Bearer vgt_…`, with your roles. Body: `{name, expires_in_days?, site?}`: a token expires after `expires_in_days` (1-365, default 90) and, with `site`, reads that site only (403 `token_scope` elsewhere). Changing your password revokes every token. You get a mail when a token is created (when mail is on).",["tokens"]),
 ("DELETE","/api/tokens/{id}","user","Revoke one of your API tokens","",["tokens"]),
 ("GET","/api/users","instance_admin","All users","",["users"]),
 ("POST","/api/users","instance_admin","Create a user, with an initial password or an invitation","Without `password` the answer carries `invite_url`, a one-time link (7 days) where the person sets their own password.",["users"]),
 ("DELETE","/api/users/{id}","instance_admin","Delete a user","",["users"]),
 ("GET","/api/sites","user","Sites you can read, with your role","",["sites"]),
 ("POST","/api/sites","user","Add a site (you become its owner)","A user who is not an instance admin may own at most 10 sites (`VIGIA_MAX_SITES_PER_USER`): 403 `too_many_sites`.",["sites"]),
 ("GET","/api/sites/{site}","site:viewer","A site's settings, snippet and installation status","`first_event_at` is null until the first event has been stored. With `hash_routing` on, the snippet carries `data-hash`.",["sites"]),
 ("PATCH","/api/sites/{site}","site:admin","Edit name, hostnames, time zone, kept query parameters, retention, hash routing","Ingest applies a change within a minute (each Worker isolate caches a site's settings for 60 s).",["sites"]),
 ("DELETE","/api/sites/{site}","site:owner","Delete a site and all its data","Buffered events, raw events, rollups, goals, funnels, members and the public link.",["sites"]),
 ("GET","/api/sites/{site}/members","site:admin","Members and their roles, and pending invitations","`{members: [{user_id, email, role}], invitations: [{email, role, expires_at}]}`.",["sites"]),
 ("PUT","/api/sites/{site}/members","site:admin","Invite a person to the site with a role (or change a member's role)","Only owners may grant or change the owner role. From an instance admin, an existing account becomes a member at once (200, `{user_id, email, role}`; 404 for an unknown email). From anyone else the answer is 202 `{email, role, status: \"invited\", message}` whether or not an account has this email: the person becomes a member only when they accept (GET /api/me/invitations). A member's role changes at once.",["sites"]),
 ("DELETE","/api/sites/{site}/members/{user}","site:admin","Remove a member","",["sites"]),
 ("POST","/api/sites/{site}/share","site:admin","Turn the public read-only link on (new token) or off","",["sites"]),
 ("GET","/api/sites/{site}/goals","site:viewer","The site's goals","",["goals"]),
 ("POST","/api/sites/{site}/goals","site:admin","Add a goal (custom event name or page path)","",["goals"]),
 ("DELETE","/api/sites/{site}/goals/{id}","site:admin","Delete a goal","",["goals"]),
 ("GET","/api/sites/{site}/funnels","site:viewer","The site's funnels","",["goals"]),
 ("POST","/api/sites/{site}/funnels","site:admin","Add a funnel (2-8 ordered steps)","",["goals"]),
 ("DELETE","/api/sites/{site}/funnels/{id}","site:admin","Delete a funnel","",["goals"]),
 ("GET","/api/sites/{site}/audit","site:auditor","The site's audit log, newest first","Every export, deletion, settings change and role change made on this site: who, when, what, outcome and from where (country, browser and OS, a keyed hash of the address). Append-only. Page with `before` (an entry id) and `limit` (at most 200).",["audit"]),
 ("GET","/api/audit","instance_admin","The whole instance's audit log, newest first","Everything in the site logs plus logins (ok and failed), logouts, password changes, users and API tokens.",["audit"]),
 ("GET","/api/sites/{site}/compliance","site:auditor","The site's compliance report (HTML or CSV)","What is collected and never stored, the retention period and its cutoff, counts of stored raw events, rollup rows and audit entries, the last retention purge, and deletions recorded in the audit log. `format=html` (default) or `csv`.",["compliance"]),
 ("POST","/api/sites/{site}/activity-key","site:admin","Create or rotate the site's secret activity key","The key is in this answer only; the previous key stops working.",["activity"]),
 ("GET","/api/sites/{site}/activity","site:auditor","Search the site's server-side activity","Filters: user_id, session_id, type, entity_type, entity_id (a per-entity audit trail), outcome, and the period (default 30d). Newest first; page with `before` (the last row's `ts` and `id` as `ts:id`) and `limit` (at most 200). `format=csv` answers the whole search as CSV (at most 100,000 rows; columns time, type, user_id, session_id, action, entity_type, entity_id, outcome, status_code, duration_ms, browser, os, device, ip_hash, details), recorded as `export_activity`. Each search is recorded in the audit log.",["activity"]),
 ("GET","/api/sites/{site}/activity/sessions","site:auditor","Active sessions","Sessions with activity in the last 30 minutes that did not end with a logout.",["activity"]),
 ("GET","/api/sites/{site}/activity/summary","site:auditor","Activity counts per type and outcome for the period","",["activity"]),
 ("DELETE","/api/sites/{site}/activity/users/{user}","site:admin","Delete all activity of one user id","For erasure requests; recorded in the audit log.",["activity"]),
 ("GET","/api/sites/{site}/reports/preview","site:viewer","Preview an email report","The report as it is mailed (without the unsubscribe link). `kind=monthly` (default) with `month=YYYY-MM`, or `kind=weekly` with `date=YYYY-MM-DD` (any day of the week); without them, the last complete period. `format=html` (default; static, no scripts), `text` (the plain-text part) or `json` (subject and figures).",["reports"]),
 ("GET","/api/sites/{site}/reports/subscription","site:viewer","Which reports you receive for this site","Owners receive the monthly report unless they turn it off; other members opt in. `member` is false for an instance admin who is not a member (reports go to members only).",["reports"]),
 ("PUT","/api/sites/{site}/reports/subscription","site:viewer","Choose which reports you receive","Body: `{monthly?, weekly?}` (booleans; a missing one keeps its value).",["reports"]),
 ("GET","/api/sites/{site}/reports/sent","site:admin","Reports sent for this site","The last 100 sends: recipient, kind, period, status (sending, sent, failed), attempts, provider, message id, error.",["reports"]),
 ("GET","/api/sites/{site}/alerts","site:auditor","Suspicious-activity alerts","What fired, newest first: rule, subject (an address fingerprint, a user id, or the whole site), window, count and threshold; with the rules and the thresholds in force (`VIGIA_ALERT_RULES`). Page with `before` (an alert id) and `limit` (at most 200).",["alerts"]),
 ("GET","/api/alerts","instance_admin","Instance alerts (failed Vigia logins)","Alerts about Vigia's own failed logins, per account and per address fingerprint (rules `vigia_failed_logins_per_account`, `vigia_failed_logins_per_address` in `VIGIA_ALERT_RULES`), newest first; mailed to instance admins. Page with `before` and `limit` (at most 200).",["alerts"]),
 ("GET","/api/stats/overview","site:viewer","Totals, the previous period's totals and the chart","",["stats"]),
 ("GET","/api/stats/totals","site:viewer","Totals for the period","",["stats"]),
 ("GET","/api/stats/timeseries","site:viewer","The chart: page views and visitors per hour, day or month","",["stats"]),
 ("GET","/api/stats/pages","site:viewer","Top pages (short form)","",["stats"]),
 ("GET","/api/stats/breakdown","site:viewer","One dimension's rows, as JSON or CSV","",["stats"]),
 ("GET","/api/stats/realtime","site:viewer","Visitors in the last 5 minutes and the pages they are on","",["stats"]),
 ("GET","/api/stats/goals","site:viewer","Each goal's conversions, conversion rate and revenue","Per goal: `visitors` (unique conversions), `conversions`, `conversion_rate` (percent of the period's visitors) and `revenue`, the custom events' revenue summed per currency as exact decimal strings, e.g. `[{\"currency\": \"EUR\", \"amount\": \"12.50\"}]` (net of refunds; empty for page goals).",["stats"]),
 ("GET","/api/stats/funnel","site:viewer","A funnel's visits, conversion and drop-off per step","",["stats"]),
 ("GET","/api/stats/bots","site:viewer","Bots: flagged events, why, which user agents, and events dropped on purpose","Bot events are stored but never counted in the other stats. For the period: `events` and `visitors` flagged as bots; `reasons` (top 10 `{value, events}`; value one of verified_bot, empty_user_agent, known_crawler, crawler_like, automation, no_fetch_metadata, no_accept_language, hosting_network, or `unrecorded` for bots flagged before reasons were stored); `user_agents` (top 10 user-agent families, the `browser` dimension of flagged events); `dropped` (`{value, events}` per reason, e.g. `referrer_spam`, counted per whole UTC day) and their sum `dropped_events`. Filters (`f`) do not apply.",["stats"]),
 ("GET","/api/export/events","site:auditor","Raw events of the period as CSV (streamed)","At most 1,000,000 rows (header `X-Vigia-Export-Limit`); narrow the period for more. Columns: time, kind, name, path, query, referrer_host, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, browser, browser_version, os, os_version, device, country, region, city, screen, engaged_ms, scroll, props, session, bot, revenue, revenue_currency. Visitor hashes are not exported; revenue is an exact decimal (empty without revenue).",["export"]),
]
dims = ["page","exit_page","entry_page","source","channel","utm_source","utm_medium","utm_campaign","utm_term","utm_content","country","region","city","browser","os","device","event","prop","outbound","download","bots"]
def qp(name, desc, schema, required=False):
    return {"name":name,"in":"query","required":required,"description":desc,"schema":schema}
stats_params = [
  qp("site","Site id",{"type":"string"},True),
  qp("period","today, yesterday, 7d, 30d (default), month (to date), last_month, 12mo, custom (with from/to). Computed in the site's time zone.",{"type":"string","enum":["today","yesterday","7d","30d","month","last_month","12mo","custom"]}),
  qp("from","First day (YYYY-MM-DD) of a custom period",{"type":"string","format":"date"}),
  qp("to","Last day (YYYY-MM-DD, inclusive) of a custom period",{"type":"string","format":"date"}),
  {"name":"f","in":"query","description":"Filter `dimension:value`, repeatable (at most 10); filters select visits and combine with AND. Dimensions: "+", ".join(d for d in dims if d!="bots")+". A prop filter's value is event, key and value separated by U+001F; the event is a custom event's name, or `pageview` for page views' properties.","schema":{"type":"array","items":{"type":"string"}},"style":"form","explode":True},
]
metrics = {"type":"object","properties":{k:{"type":"integer"} for k in ["visitors","pageviews","visits","bounces","duration_ms","engaged_ms","events"]}}
metrics["properties"].update({"bounce_rate":{"type":"number","description":"percent"},"views_per_visit":{"type":"number"},"visit_duration_s":{"type":"number"},"engaged_s":{"type":"number","description":"visible and focused seconds per visit"}})
doc = {"openapi":"3.1.0","info":{"title":"Vigia API","version":"0.3.0","description":"Privacy-first analytics at the edge. Every route lists who may call it in `x-vigia-access`: public, user (logged in), instance_admin, or site:<role> where roles rank viewer < auditor < admin < owner (instance admins are owners of every site). A site route takes the site from `{site}` or `?site=`; a site you cannot read answers 404. Errors are JSON `{error, message}` with a 4xx status. CORS is closed except for ingest; state-changing requests from another origin are refused (403)."},
 "servers":[{"url":"/"}],
 "components":{"securitySchemes":{
   "session":{"type":"apiKey","in":"cookie","name":"vigia_session","description":"Set by POST /api/login."},
   "token":{"type":"http","scheme":"bearer","description":"An API token (vgt_…) from POST /api/tokens; only for GET /api/stats/* and /api/export/*."},
   "share":{"type":"apiKey","in":"header","name":"X-Vigia-Share","description":"A site's public link token; only for GET /api/stats/* of that site."},
   "activity_key":{"type":"http","scheme":"bearer","description":"A site's secret activity key (vsk_…); only for POST /api/activity."}},
  "schemas":{"Error":{"type":"object","required":["error","message"],"properties":{"error":{"type":"string"},"message":{"type":"string"}}},
   "Metrics":metrics,
   "BreakdownRow":{"allOf":[{"$ref":"#/components/schemas/Metrics"},{"type":"object","properties":{"value":{"type":"string"},"share_of_visitors":{"type":"number"}}}]},
   "SeriesPoint":{"type":"object","properties":{"t":{"type":"integer","description":"bucket start, UTC ms"},"label":{"type":"string","description":"bucket in the site's time zone"},"pageviews":{"type":"integer"},"visitors":{"type":"integer"}}},
   "Range":{"type":"object","properties":{"from":{"type":"string"},"to":{"type":"string"},"timezone":{"type":"string"},"from_ms":{"type":"integer"},"to_ms":{"type":"integer"},"bucket":{"type":"string","enum":["hour","day","month"]}}}}},
 "paths":{}}
err = {"description":"Error","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Error"}}}}
for method, path, access, summary, desc, tags in routes:
    op = {"summary":summary,"tags":tags,"x-vigia-access":access,"operationId":(method.lower()+path.replace("/api","").replace("/","_").replace("{","").replace("}","").replace(".json","")).strip("_")}
    if desc: op["description"]=desc
    params=[]
    for seg in path.split("/"):
        if seg.startswith("{"):
            params.append({"name":seg[1:-1],"in":"path","required":True,"schema":{"type":"string"}})
    if path.startswith("/api/stats/") or path.startswith("/api/export/"):
        params += stats_params
    if path=="/api/stats/breakdown":
        params += [qp("dimension","The dimension",{"type":"string","enum":dims},True), qp("limit","Rows, 1-100 (default 10)",{"type":"integer","minimum":1,"maximum":100}), qp("format","json (default) or csv; the CSV's columns are value, visitors, visits, pageviews, bounce_rate, visit_duration_s, engaged_s, events, share_of_visitors",{"type":"string","enum":["json","csv"]})]
    if path=="/api/stats/pages":
        params += [qp("limit","Rows, 1-100 (default 10)",{"type":"integer"})]
    if path in ("/api/sites/{site}/activity","/api/sites/{site}/activity/summary"):
        params += stats_params[1:4]
    if path=="/api/sites/{site}/activity":
        params += [qp(n,"Filter",{"type":"string"}) for n in ["user_id","session_id","type","entity_type","entity_id","outcome"]] + [qp("before","Keyset: ts:id of the last row seen",{"type":"string"}), qp("limit","Rows, 1-200 (default 50)",{"type":"integer"}), qp("format","json (default) or csv",{"type":"string","enum":["json","csv"]})]
    if path=="/api/sites/{site}/compliance":
        params += [qp("format","html (default) or csv",{"type":"string","enum":["html","csv"]})]
    if path in ("/api/sites/{site}/audit","/api/audit"):
        params += [qp("before","Entries older than this id",{"type":"integer"}), qp("limit","Entries, 1-200 (default 50)",{"type":"integer"})]
    if path=="/api/sites/{site}/reports/preview":
        params += [qp("kind","monthly (default) or weekly",{"type":"string","enum":["monthly","weekly"]}), qp("month","YYYY-MM, for a monthly report",{"type":"string"}), qp("date","YYYY-MM-DD, any day of the week, for a weekly report",{"type":"string","format":"date"}), qp("format","html (default), text or json",{"type":"string","enum":["html","text","json"]})]
    if path=="/api/reports/unsubscribe":
        params += [qp("site","Site id",{"type":"string"},True), qp("user","User id",{"type":"integer"},True), qp("kind","monthly or weekly",{"type":"string","enum":["monthly","weekly"]},True), qp("sig","The link's signature",{"type":"string"},True)]
    if path in ("/api/sites/{site}/alerts", "/api/alerts"):
        params += [qp("before","Alerts older than this id",{"type":"integer"}), qp("limit","Alerts, 1-200 (default 50)",{"type":"integer"})]
    if path=="/api/stats/funnel":
        params += [qp("funnel","Funnel id",{"type":"integer"},True)]
    if params: op["parameters"]=params
    if access=="public": op["security"]=[]
    elif access.startswith("site:") and (path.startswith("/api/stats/") or path.startswith("/api/export/")):
        op["security"]=[{"session":[]},{"token":[]}] + ([{"share":[]}] if path.startswith("/api/stats/") else [])
    else: op["security"]=[{"session":[]}]
    ok = {"description":"OK"}
    if path=="/api/stats/overview":
        ok={"description":"OK","content":{"application/json":{"schema":{"type":"object","properties":{"range":{"$ref":"#/components/schemas/Range"},"filters":{"type":"array","items":{"type":"string"}},"totals":{"$ref":"#/components/schemas/Metrics"},"previous":{"type":"object","properties":{"range":{"$ref":"#/components/schemas/Range"},"totals":{"$ref":"#/components/schemas/Metrics"}}},"series":{"type":"object","properties":{"bucket":{"type":"string"},"points":{"type":"array","items":{"$ref":"#/components/schemas/SeriesPoint"}}}}}}}}}
    elif path=="/api/stats/breakdown":
        ok={"description":"OK","content":{"application/json":{"schema":{"type":"object","properties":{"dimension":{"type":"string"},"rows":{"type":"array","items":{"$ref":"#/components/schemas/BreakdownRow"}}}}},"text/csv":{"schema":{"type":"string"}}}}
    elif path=="/api/export/events":
        ok={"description":"CSV, header row first","content":{"text/csv":{"schema":{"type":"string"}}}}
    if path=="/api/activity": op["security"]=[{"activity_key":[]}]
    code = "201" if method=="POST" and path in ["/api/sites","/api/tokens","/api/users","/api/sites/{site}/goals","/api/sites/{site}/funnels","/api/setup"] else ("202" if path in ("/api/event","/api/activity") and method=="POST" else ("204" if method=="OPTIONS" else "200"))
    responses = {code: ok}
    if access!="public":
        responses["401"]=err; responses["403"]=err
    if access.startswith("site:"): responses["404"]=err
    responses["400"]=err
    op["responses"]=responses
    if method in ("POST","PUT","PATCH") and path not in ("/api/logout","/api/reports/unsubscribe"):
        op["requestBody"]={"required":True,"content":{"application/json":{"schema":{"type":"object"}}}}
    doc["paths"].setdefault(path,{})[method.lower()]=op
# request body schemas worth spelling out
def body(path, method, props, required):
    doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]={"type":"object","required":required,"properties":props}
s={"type":"string"}
hash_routing={"type":"boolean","description":"keep URL fragments in stored paths (single-page apps routing with #/); the snippet must carry data-hash too (default false)"}
body("/api/sites","post",{"id":s,"name":s,"hostnames":{"type":"array","items":s},"timezone":{"type":"string","description":"IANA name, default UTC"},"query_allow_list":s,"hash_routing":hash_routing},["hostnames"])
body("/api/sites/{site}","patch",{"name":s,"hostnames":{"type":"array","items":s},"timezone":s,"query_allow_list":s,"retention_days":{"type":"integer","minimum":30,"maximum":3650,"description":"raw events are deleted after this many days (default 395)"},"hash_routing":hash_routing},[])
body("/api/sites/{site}/members","put",{"email":s,"role":{"type":"string","enum":["owner","admin","auditor","viewer"]}},["email","role"])
body("/api/sites/{site}/share","post",{"enabled":{"type":"boolean"}},["enabled"])
body("/api/sites/{site}/goals","post",{"kind":{"type":"string","enum":["event","page"]},"value":s},["kind","value"])
body("/api/sites/{site}/funnels","post",{"name":s,"steps":{"type":"array","minItems":2,"maxItems":8,"items":{"type":"object","properties":{"kind":{"type":"string","enum":["event","page"]},"value":s}}}},["name","steps"])
body("/api/tokens","post",{"name":s,"expires_in_days":{"type":"integer","minimum":1,"maximum":365},"site":s},["name"])
body("/api/sites/{site}/reports/subscription","put",{"monthly":{"type":"boolean"},"weekly":{"type":"boolean"}},[])
body("/api/users","post",{"email":s,"password":{"type":"string","minLength":10,"description":"omit to invite"},"is_admin":{"type":"boolean"}},["email"])
body("/api/invites/accept","post",{"token":s,"password":{"type":"string","minLength":10}},["token","password"])
body("/api/me/password","post",{"current":s,"new":{"type":"string","minLength":10}},["current","new"])
body("/api/login","post",{"email":s,"password":s},["email","password"])
body("/api/setup","post",{"email":s,"password":s,"site":{"type":"object"}},["email","password"])
print(json.dumps(doc, indent=1))
