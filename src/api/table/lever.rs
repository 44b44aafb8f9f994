//! The API table's rows for one subsystem.
//! Lever services: deploy, list, logs, rollback, remove, invoke.

use crate::api::fns_lever;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "LeverDeploy",
        params: "sid, env, appMid, [ver], [vars]",
        access: Access::Session(Rights::User),
        doc: "Deploys version ver (default the latest) of app Mimei appMid as the service its lever.json names, in env (default dev.lever); needs write on the app. The code is checked by starting one instance; a redeploy is a new version (calls in flight finish on the old one). vars, an object of names to strings, is the service's env (lever.env), kept by the node and never in the app; absent or null, a redeploy keeps the env the service has. Returns {env, name, mid, version, instances, envNames, db, warnings?, ...}.",
        run: fns_lever::deploy,
    },
    ApiFn {
        name: "LeverLs",
        params: "sid, [env]",
        access: Access::Session(Rights::Guest),
        doc: "The services (of env, or all): a list of {env, name, description, mid, version, private, instances, draining, inflight, calls, errors, rate, latencyMs, resources, startUs, memory, versions}; to whoever deployed a service and the owner also envNames (the names of its env variables, never their values) and db (its database Mimei, \"\" until first used).",
        run: fns_lever::ls,
    },
    ApiFn {
        name: "LeverLogs",
        params: "sid, env, service, [since]",
        access: Access::Session(Rights::User),
        doc: "A service's log lines numbered since and later (the last 1000 are kept): {lines, next}; pass next as since to follow.",
        run: fns_lever::logs,
    },
    ApiFn {
        name: "LeverRollback",
        params: "sid, env, service, [ver]",
        access: Access::Session(Rights::User),
        doc: "Makes an earlier deployed version (default: the one before the current) current again; only the deployer or the owner. Returns the service like LeverDeploy.",
        run: fns_lever::rollback,
    },
    ApiFn {
        name: "LeverRm",
        params: "sid, env, service",
        access: Access::Session(Rights::User),
        doc: "Removes a service (calls in flight finish) with its env; its database is detached, every handle on it closed, and a later deploy of that env and name gets a fresh one (the owner may still open the old one). Only the deployer or the owner. Returns true.",
        run: fns_lever::rm,
    },
    ApiFn {
        name: "LeverInvoke",
        params: "sid, url, [args]",
        access: Access::Session(Rights::Guest),
        doc: "Calls lever://ENV/SERVICE[/RESOURCE]/METHOD with the list args, with the session's rights (as POST /SERVICE/METHOD does). Returns the method's result.",
        run: fns_lever::invoke,
    },
];
