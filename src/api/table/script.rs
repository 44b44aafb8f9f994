//! The API table's rows for one subsystem.
//! Scripts and background tasks, Leither's task module (LTask.md): `RunScript`,
//! `RegisterScript`, `RunByScriptID`, `TaskRunInBackground`, and ours `ScriptList`,
//! `ScriptDel`, `TaskList`, `TaskCancel`. docs/scripts.md has the contract.

use crate::api::fns_script;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "RunScript",
        params: "script, glob",
        access: Access::Public,
        doc: "Runs a Lua script (docs/scripts.md) with glob (a map of strings) as its global `request`, and answers what it returns. The session is glob's sid, else a login with glob's ppt or username and password, else the guest \"\"; the script's API calls have that session's rights and no more. Limits: LuaMaxTimeoutMs, LuaMaxInstructions, LuaMaxRamMB; 64 KiB of text; 8 scripts at once (2 of guests and visitors).",
        run: fns_script::run_script,
    },
    ApiFn {
        name: "RegisterScript",
        params: "sid, script, info",
        access: Access::Session(Rights::User),
        doc: "Stores a Lua script (at most 64 KiB) for RunByScriptID and background tasks; info is ScriptInfo {ID, Name, Memo} (an ID of your own script replaces it). Returns the script ID. 32 scripts per user, 1024 per node (the owner is exempt); the bytes count against QuotaAddMBPerDay.",
        run: fns_script::register_script,
    },
    ApiFn {
        name: "RunByScriptID",
        params: "sid, scriptId, glob",
        access: Access::Session(Rights::Guest),
        doc: "Runs a registered script with this session and glob as its request (sid set to this session); only its author and the owner may run it (others are told there is no such script of theirs). Returns what the script returns.",
        run: fns_script::run_by_script_id,
    },
    ApiFn {
        name: "ScriptList",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "Ours: your registered scripts (the owner's: all), each ScriptInfo {ID, Name, Memo} with author, at (unix seconds) and size.",
        run: fns_script::script_list,
    },
    ApiFn {
        name: "ScriptDel",
        params: "sid, scriptId",
        access: Access::Session(Rights::Guest),
        doc: "Ours: removes a registered script of yours (the owner: anyone's); another's is not found. Returns true.",
        run: fns_script::script_del,
    },
    ApiFn {
        name: "TaskRunInBackground",
        params: "sid, setting",
        access: Access::Session(Rights::User),
        doc: "Runs a registered script in the background as this user: setting is TaskSetting {Name (default the ScriptID; the same name replaces), ScriptID, Start (0 now, else unix seconds), Period (seconds, at least 10; 0 once; -1 monthly, -2 yearly), Param (the request), Status (0 run, 1 paused)}. 8 tasks per user (the owner is exempt), 64 per node; in memory (a restart ends them). Returns null.",
        run: fns_script::task_run_in_background,
    },
    ApiFn {
        name: "TaskList",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "Ours: your background tasks (the owner's: all), each {Name, ScriptID, Start, Period, Param, Status, user, next, runs, last}.",
        run: fns_script::task_list,
    },
    ApiFn {
        name: "TaskCancel",
        params: "sid, name",
        access: Access::Session(Rights::Guest),
        doc: "Ours: ends your background task name (the owner: anyone's of that name). Returns whether one ended.",
        run: fns_script::task_cancel,
    },
];
