#!/usr/bin/env node
// Leither's example/rpc/getstat/getstat.go, call for call, over Hprose 3.0 WebSocket (see
// lx.js): CPU, disk and memory statistics as the guest, each read with GetVarObj (GetGobVar +
// gob). The checks ask only for what a real machine cannot have as zero (gob leaves zero
// fields out). Usage: node getstat.js [http://HOST:PORT]
'use strict';
const lx = require('./lx');

new lx.Program('getstat.go').run(async (p) => {
    const statCPU = await p.getVarObj('', 'cpu'); // lapi.ApiVarCPU
    console.log('statCPU', statCPU);
    p.expect('statCPU is a list of numbers',
        Array.isArray(statCPU) && statCPU.every((x) => typeof x === 'number'), true);

    const statUsage = await p.getVarObj('', 'disk'); // lapi.ApiVarDisk
    console.log('StatUsage', statUsage);
    p.expect('StatUsage is a struct with a Total',
        !!statUsage && Number(statUsage.Total) > 0, true);

    const statVM = await p.getVarObj('', 'virtualmemory'); // lapi.ApiVarVirtualMemory
    console.log('StatVirtualMemory', statVM);
    p.expect('StatVirtualMemory is a struct with a Total',
        !!statVM && Number(statVM.Total) > 0, true);
});
