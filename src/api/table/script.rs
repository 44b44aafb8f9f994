//! The API table's rows for one subsystem.
//! Scripts and background tasks, Leither's task module (LTask.md): `RunScript`,
//! `RegisterScript`, `RunByScriptID`, `TaskRunInBackground`, and ours `TaskList`,
//! `TaskCancel`. docs/scripts.md has the contract.

use crate::api::fns_script;
use crate::api::{Access, ApiFn};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[ApiFn {
    name: "RunScript",
    params: "script, glob",
    access: Access::Public,
    doc: "Runs a Lua script (docs/scripts.md) with glob (a map of strings) as its global `request`, and answers what it returns. The session is glob's sid, else a login with glob's ppt or username and password, else the guest \"\"; the script's API calls have that session's rights and no more. Limits: LuaMaxTimeoutMs, LuaMaxInstructions, LuaMaxRamMB; 64 KiB of text; 8 scripts at once (2 of guests and visitors).",
    run: fns_script::run_script,
}];
