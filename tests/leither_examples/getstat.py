#!/usr/bin/env python3
"""Leither's example/rpc/getstat/getstat.go, call for call: CPU, disk and memory statistics
as a guest, each read with GetVarObj (GetGobVar + gob).

The Go types: lapi.StatCPU = []float64; lapi.StatUsage = gopsutil disk.UsageStat (Path,
Fstype, Total, Free, Used, UsedPercent, Inodes*); lapi.StatVirtualMemory = gopsutil
mem.VirtualMemoryStat (Total, Available, Used, UsedPercent, Free, ...). Gob sends struct
fields by name and leaves zero ones out; the Go decoder would drop fields it does not know,
so the checks below only ask for what a real machine cannot have as zero.
Usage: getstat.py [http://HOST:PORT]
"""
import lx


def main(p):
    stat_cpu = p.get_var_obj('', 'cpu')  # lapi.ApiVarCPU
    print('statCPU', stat_cpu)
    p.expect('statCPU is a list of floats', isinstance(stat_cpu, list)
             and all(isinstance(x, float) for x in stat_cpu), True)

    stat_usage = p.get_var_obj('', 'disk')  # lapi.ApiVarDisk
    print('StatUsage', stat_usage)
    p.expect('StatUsage is a struct with a Total', isinstance(stat_usage, dict)
             and isinstance(stat_usage.get('Total'), int) and stat_usage['Total'] > 0, True)

    stat_vm = p.get_var_obj('', 'virtualmemory')  # lapi.ApiVarVirtualMemory
    print('StatVirtualMemory', stat_vm)
    p.expect('StatVirtualMemory is a struct with a Total', isinstance(stat_vm, dict)
             and isinstance(stat_vm.get('Total'), int) and stat_vm['Total'] > 0, True)


lx.Program('getstat.go').run(main)
