//! Which handler answers which request. The node's own prefixes (`api`, `webapi`, `ws`, and
//! later `ipfs`, `mm`, `tpt`, `entry`) are matched here first, so no app can shadow them.

use std::rc::Rc;

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::{Path, Request};
use picoserve::response::ResponseWriter;
use picoserve::routing::PathRouterService;

use super::reply::{json_error, send, session_id, too_many};
#[cfg(feature = "files")]
use super::{car_import, gateway, ipfs_add};
use super::{hprose_http, json_api};
use crate::api::NodeState;
use crate::limits::rate::Cost;
use crate::ops::rate;

/// What a request costs at the door: nothing for the API's routes (each call is paid inside)
/// and preflights; a file GET a quarter of a call (a web app loads dozens of files); any
/// other request (a Lever call or stream, `/entry`, `/getvar`, an upload) one call.
pub fn cost_of(method: &str, path: &str, upgrade: bool) -> Option<Cost> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let api = matches!(first, "api" | "webapi" | "ws" | "ws3");
    if api || method == "OPTIONS" {
        return None;
    }
    let call = matches!(first, "entry" | "getvar");
    if matches!(method, "GET" | "HEAD") && !call && !upgrade {
        Some(Cost::FILE)
    } else {
        Some(Cost::CALL)
    }
}

/// The node's routes, as one picoserve service.
pub struct Routes {
    /// The node.
    pub state: Rc<NodeState>,
}

impl PathRouterService<()> for Routes {
    async fn call_path_router_service<R: Read, W: ResponseWriter<Error = R::Error>>(
        &self,
        _state: &(),
        _params: (),
        path: Path<'_>,
        request: Request<'_, R>,
        writer: W,
    ) -> Result<ResponseSent, W::Error> {
        let method = request.parts.method();
        let path = path.encoded();
        if method == "OPTIONS" {
            // CORS preflight: the headers come with every response.
            return send(request, writer, 204, "text/plain", Vec::new()).await;
        }
        #[cfg(feature = "lever")]
        let upgrade = super::lever::is_upgrade(&request.parts);
        #[cfg(not(feature = "lever"))]
        let upgrade = false;
        if let Some(cost) = cost_of(method, path, upgrade) {
            let sid = session_id(&request.parts);
            let paid = rate::charge_sid(&self.state, rate::caller_ip(), sid.as_deref(), cost);
            if let Err(limited) = paid {
                return too_many(request, writer, &limited).await;
            }
        }
        match (method, path) {
            ("POST", "/webapi" | "/webapi/") => {
                hprose_http::post(&self.state, request, writer).await
            }
            ("GET" | "HEAD", "/webapi" | "/webapi/") => {
                hprose_http::function_list(request, writer).await
            }
            // `/ws3/` is what Leither's Go client dials (Hprose 3.0); the codec serves 2.0 and
            // 3.0 on either path.
            #[cfg(feature = "ws")]
            ("GET", "/ws" | "/ws/" | "/ws3" | "/ws3/") => {
                hprose_http::websocket(&self.state, request, writer).await
            }
            #[cfg(feature = "files")]
            ("POST", "/ipfs/add") => ipfs_add::post(&self.state, request, writer).await,
            #[cfg(feature = "files")]
            ("POST", "/ipfs/car") => car_import::post(&self.state, request, writer).await,
            #[cfg(feature = "files")]
            ("GET" | "HEAD", p) if p.starts_with("/mm/") => {
                super::mm::get(&self.state, p, request, writer).await
            }
            // Leither's file of an open Mimei: /mf/<path>?mmsid= (src/http/mf.rs).
            #[cfg(feature = "files")]
            ("GET" | "HEAD", p) if p == "/mf" || p.starts_with("/mf/") => {
                super::mf::get(&self.state, p, request, writer).await
            }
            // lapp (issue #6): an app's files at /tpt/<appid>[/path]; src/http/tpt.rs.
            #[cfg(feature = "files")]
            ("GET" | "HEAD", p) if p == "/tpt" || p.starts_with("/tpt/") => {
                super::tpt::get(&self.state, p, request, writer).await
            }
            #[cfg(feature = "files")]
            ("GET" | "HEAD", p) if p.starts_with("/ipfs/") => {
                gateway::get(&self.state, p, request, writer).await
            }
            // Leither's GET /getvar?name=&arg0=[&nojson] (the owner's pass to loopback only).
            #[cfg(feature = "net")]
            (_, p) if p.starts_with("/tun/") => {
                super::tunnel::call(&self.state, p, request, writer).await
            }
            ("GET" | "HEAD", "/getvar" | "/getvar/") => {
                super::getvar::get(&self.state, request, writer).await
            }
            ("POST", p) if p.starts_with("/api/") => {
                json_api::post(&self.state, &p["/api/".len()..], request, writer).await
            }
            // A bound domain's DNN page, an unknown domain's 404, or the dashboard.
            #[cfg(feature = "files")]
            ("GET" | "HEAD", "/") => super::dnn::root(&self.state, request, writer).await,
            #[cfg(feature = "files")]
            ("GET" | "HEAD", "/dashboard" | "/dashboard/") => {
                super::dnn::dashboard(request, writer).await
            }
            #[cfg(not(feature = "files"))]
            ("GET" | "HEAD", "/") => {
                let body = format!(
                    "leither node {} ({})\nAPI: POST /webapi/ (Hprose), POST /api/<Function> (JSON)\n",
                    self.state.key.id(),
                    crate::api::fns_node::VERSION
                );
                send(
                    request,
                    writer,
                    200,
                    "text/plain; charset=utf-8",
                    body.into_bytes(),
                )
                .await
            }
            (_, "/webapi" | "/webapi/" | "/ws" | "/ws/" | "/ws3" | "/ws3/") => {
                let body = json_error("method not allowed on this path", "method_not_allowed");
                send(request, writer, 405, "application/json", body).await
            }
            (_, p) if p.starts_with("/api/") => {
                let body = json_error(
                    "API calls are POST /api/<Function> with a JSON array of arguments",
                    "method_not_allowed",
                );
                send(request, writer, 405, "application/json", body).await
            }
            // Lever's JS client for browsers (js/leveros).
            #[cfg(feature = "lever")]
            ("GET" | "HEAD", super::lever::MODULE_PATH) => {
                super::lever::module(request, writer).await
            }
            #[cfg(feature = "lever")]
            ("GET" | "POST", "/entry" | "/entry/") => {
                super::entry::call(&self.state, request, writer).await
            }
            // Lever's contract: any other POST is a service call; a WebSocket GET a stream.
            #[cfg(feature = "lever")]
            ("POST", p) => super::lever::call(&self.state, p, request, writer).await,
            #[cfg(feature = "lever")]
            ("GET", p) if super::lever::is_upgrade(&request.parts) => {
                super::lever::call(&self.state, p, request, writer).await
            }
            _ => {
                let body = json_error(
                    &format!("no such path: {}", crate::api::truncate(path, 128)),
                    "not_found",
                );
                send(request, writer, 404, "application/json", body).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_routes_are_paid_inside_and_files_cost_a_quarter() {
        assert_eq!(cost_of("POST", "/api/GetVar", false), None);
        assert_eq!(cost_of("POST", "/webapi/", false), None);
        assert_eq!(cost_of("GET", "/ws3/", true), None);
        assert_eq!(cost_of("GET", "/getvar", false), Some(Cost::CALL));
        assert_eq!(cost_of("GET", "/ipfs/Qm", false), Some(Cost::FILE));
        assert_eq!(
            cost_of("HEAD", "/tpt/x/index.html", false),
            Some(Cost::FILE)
        );
        assert_eq!(cost_of("GET", "/entry", false), Some(Cost::CALL));
        assert_eq!(cost_of("GET", "/svc/Chan", true), Some(Cost::CALL));
        assert_eq!(cost_of("POST", "/svc/Hello", false), Some(Cost::CALL));
        assert_eq!(cost_of("POST", "/wsx/Hello", false), Some(Cost::CALL));
        assert_eq!(cost_of("POST", "/ipfs/add", false), Some(Cost::CALL));
    }
}
