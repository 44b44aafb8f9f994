//! The API table's rows for one subsystem.
//! Node variables and actions, Leither's `VarAct` set: `GetVar`, `GetVarByContext`,
//! `GetGobVar`, `Act`.

use crate::api::fns_var;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "GetVar",
        params: "sid, name, [args...]",
        access: Access::Session(Rights::Guest),
        doc: "A node variable by name (case-insensitive); the names and their shapes are listed below the table.",
        run: fns_var::get_var,
    },
    ApiFn {
        name: "GetVarByContext",
        params: "sid, name, mapOpt",
        access: Access::Session(Rights::Guest),
        doc: "GetVar with its arguments from a map: arg0, arg1, ... in order, or else the one of mid, mmsid, hours present.",
        run: fns_var::get_var_by_context,
    },
    ApiFn {
        name: "GetGobVar",
        params: "sid, name, [args...]",
        access: Access::Session(Rights::Guest),
        doc: "GetVar's value as Go encoding/gob bytes (what the Go client's GetVarObj decodes): cpu as []float64, disk as gopsutil's UsageStat, virtualmemory as its VirtualMemoryStat, maps as structs with the keys' first letter upper-cased.",
        run: fns_var::get_gob_var,
    },
    ApiFn {
        name: "Act",
        params: "sid, name, [args...]",
        access: Access::Session(Rights::Guest),
        doc: "An action: warn (writes the arguments to the log as a warning; user session) or supporttunnel (false: no tunnels here). Leither's other actions answer 501 not supported.",
        run: fns_var::act,
    },
];
