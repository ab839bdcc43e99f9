#!/usr/bin/env node
/**
 * loadmon's command line. Commander parses; option values are validated by
 * options.ts so that every mistake exits 2 with a message naming the option.
 */

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Command, CommanderError, Option } from 'commander';

import { unknownResult } from '../analyze/check.ts';
import { loadmonEnv } from '../env.ts';
import { type ErrorCode, LoadmonError, optionError } from '../errors.ts';
import { escapeText } from '../format/escape.ts';
import { VERSION } from '../version.ts';
// Commands are imported when they run: a snapshot should not pay for loading
// the demo, the kernel-module tooling or the store (startup is most of a
// one-shot capture's cost).
import { DEFAULTS, FORMATS, SOURCES } from './options.ts';
import { installStdoutGuard } from './output.ts';
import { installShutdownHandlers } from './shutdown.ts';
import { DEFAULT_DB, RECORD_DEFAULTS, REPORT_FORMATS } from './store-options.ts';

function commonOptions(cmd: Command): Command {
  return cmd
    .option('--depth <frames>', 'kernel stack frames kept per task (0-64)', DEFAULTS.depth)
    .option('--json', 'machine output (same as --format json)')
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join(', ')}`))
    .addOption(new Option('--source <source>', `collector: ${SOURCES.join(', ')}`).default(DEFAULTS.source))
    .option('--proc-root <dir>', 'read a proc tree from elsewhere (fixtures, copies)', DEFAULTS.procRoot);
}

function watchOptions(cmd: Command): Command {
  return commonOptions(cmd)
    .option('--threshold <load>', 'capture when load1 >= this; per-CPU form: 0.75/cpu', DEFAULTS.threshold)
    .option('--interval <duration>', 'how often to read the load average (ms, s, m)', DEFAULTS.interval)
    .option('--cooldown <duration>', 'minimum time between two captures', DEFAULTS.cooldown)
    .option('--count <n>', 'exit after n captures')
    .option(
      '--trigger <spec>',
      'also capture on a PSI event: psi:<cpu|io|memory>:<some|full>:<stall>/<window>, e.g. psi:io:some:150ms/2s' +
        ' (repeatable; the --threshold rule always applies; one --cooldown for all)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    );
}

export function buildProgram(): Command {
  const program = new Command('loadmon')
    .description('Linux high-load forensics: which tasks make the load average (R and D), and where they are stuck in the kernel')
    .version(VERSION)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .hook('preAction', (_program, action) => forgetDefaults(action));

  commonOptions(program.command('snapshot').description('capture the R and D tasks with their kernel stacks, once, now'))
    .option('--profile <duration>', 'bpf: sample the CPUs this long for user stacks of R tasks (default 2s with --source bpf, else 0)')
    .action(async (o) => (await import('./commands/snapshot.ts')).snapshotCommand(o));

  // top is a view: no --json/--format (snapshot has the JSON); on a terminal it refreshes until q.
  program
    .command('top')
    .description('live view: who makes the load, ranked by share; one table when stdout is not a terminal')
    .option('--interval <duration>', 'refresh period', '1s')
    .option('--group <by>', 'rows by process, cgroup, command or stack (g cycles them)', 'process')
    .option('--threshold <load>', 'keep a capture when load1 >= this; per-CPU form: 0.75/cpu', DEFAULTS.threshold)
    .option('--cooldown <duration>', 'minimum time between two threshold captures', DEFAULTS.cooldown)
    .option('--depth <frames>', 'kernel stack frames kept per task (0-64)', DEFAULTS.depth)
    .addOption(new Option('--source <source>', `collector: ${SOURCES.join(', ')}`).default(DEFAULTS.source))
    .option('--proc-root <dir>', 'read a proc tree from elsewhere (fixtures, copies)', DEFAULTS.procRoot)
    .option('--db <path>', 'also store each kept capture (s, or the threshold) in this store, as record does')
    .action(async (o) => (await import('./commands/top.ts')).topCommand(o));

  watchOptions(
    program.command('watch').description('check the load every --interval; capture when load1 >= --threshold and --cooldown has passed'),
  )
    .option('--quiet', 'no status line on stderr')
    .option('--profile <duration>', 'bpf: after each capture, sample the CPUs this long for user stacks of R tasks (default 0)')
    .action(async (o) => (await import('./commands/watch.ts')).watchCommand(o));

  watchOptions(
    program.command('record').description('watch like `watch`, and keep a timeline and every capture in an embedded store for `report`'),
  )
    .option('--db <path>', 'the store (SQLite, WAL)', RECORD_DEFAULTS.db)
    .option('--sample <duration>', 'timeline sample period', RECORD_DEFAULTS.sample)
    .option('--retain <age>', 'keep this much history (s, m, h, d, w)', RECORD_DEFAULTS.retain)
    .option('--max-size <size>', 'keep the store under this size (KiB, MiB, GiB, kB, MB, GB)', RECORD_DEFAULTS.maxSize)
    .option('--cpu-budget <percent>', "the light scans' average CPU, percent of one core ('off': none)", RECORD_DEFAULTS.cpuBudget)
    .option('--quiet', 'no status lines on stderr (store failures are still reported)')
    .action(async (o) => (await import('./commands/record.ts')).recordCommand(o));

  watchOptions(
    program
      .command('serve')
      .description('a local dashboard and Prometheus /metrics over HTTP, reading the store; --record also records into it'),
  )
    .option('--db <path>', 'the store (SQLite, WAL)', RECORD_DEFAULTS.db)
    .option('--listen <host:port>', 'address to listen on; beyond loopback a token is required (port 0: any free port)', '127.0.0.1:9640')
    .option('--token <token>', 'require this token on every request (or set LOADMON_TOKEN)')
    .option('--record', 'also run the recorder in this process (the record options below apply)')
    .option('--sample <duration>', '(--record) timeline sample period', RECORD_DEFAULTS.sample)
    .option('--retain <age>', '(--record) keep this much history (s, m, h, d, w)', RECORD_DEFAULTS.retain)
    .option('--max-size <size>', '(--record) keep the store under this size', RECORD_DEFAULTS.maxSize)
    .option('--cpu-budget <percent>', "(--record) the light scans' average CPU, percent of one core", RECORD_DEFAULTS.cpuBudget)
    .option('--quiet', 'no status lines on stderr (failures and the URL are still printed)')
    .action(async (o, cmd: Command) => {
      // Which options were typed (not defaults): the record ones mean nothing without --record.
      const given = cmd.options.map((x) => x.attributeName()).filter((k) => cmd.getOptionValueSource(k) === 'cli');
      return (await import('./commands/serve.ts')).serveCommand({ ...o, given });
    });

  program
    .command('report')
    .description('summarise a recorded period: load curve, captures, verdict, attribution, stacks; or export one capture')
    .option('--db <path>', 'the store', DEFAULT_DB)
    .option('--since <when>', 'start: a duration before now (1h, 7d) or an ISO date/time')
    .option('--until <when>', 'end: a duration before now or an ISO date/time')
    .option('--capture <id>', 'one stored capture')
    .addOption(new Option('--format <format>', `output format: ${REPORT_FORMATS.join(', ')}`))
    .option('--json', 'same as --format json')
    .option('--top <n>', 'rows per table (processes, cgroups, stacks)', '10')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (o) => (await import('./commands/report.ts')).reportCommand(o));

  program
    .command('demo')
    .description('start a bounded synthetic load (busy loops and D-state tasks), watch it climb and show the capture')
    .option('--duration <duration>', 'how long the synthetic load may run at most', '60s')
    .option('--threshold <load>', 'load1 at which to capture (default: a little above the load at start)')
    .option('--busy <n>', 'busy loops (R) to start', '2')
    .option('--blocked <n>', 'D-state tasks to start', '6')
    .addOption(new Option('--format <format>', `output format: ${FORMATS.join(', ')} (default: text)`))
    .option('--json', 'machine output (same as --format json)')
    .action(async (o) => (await import('./commands/demo.ts')).demoCommand(o));

  // check: a monitoring plugin. Its bad options are UNKNOWN (exit 3, one line on stdout), not loadmon's exit 2,
  // which a monitoring system would read as CRITICAL: the plugin's status is set here and commander's error
  // is passed on as a finished one (exit code 0), so the status set stays.
  program
    .command('check')
    .description('a monitoring plugin (Nagios, Icinga, Zabbix): OK/WARNING/CRITICAL on load1, the cause in the line, perfdata')
    .option('--warning <load>', 'WARNING when load1 is above this; per-CPU form: 1/cpu', '1/cpu')
    .option('--critical <load>', 'CRITICAL when load1 is above this; per-CPU form: 2/cpu', '2/cpu')
    .option('--db <path>', 'use the recorded verdict of the period from this store instead of a live look')
    .option('--since <when>', '(--db) the period: a duration before now (5m) or an ISO date/time', '5m')
    .option('--timeout <duration>', 'UNKNOWN when there is no answer within this', '10s')
    .exitOverride((err) => {
      if (err.exitCode === 0) throw err;
      process.stdout.write(`${unknownResult(stripPrefix(err.message)).line}\n`);
      process.exitCode = 3;
      throw new CommanderError(0, 'loadmon.check.unknown', err.message);
    })
    .action(async (o) => (await import('./commands/check.ts')).checkCommand(o));

  program
    .command('doctor')
    .description('which collectors and features work on this machine, why not, and the one command that fixes each')
    .option('--json', 'machine output (loadmon.doctor/v1)')
    .action(async (o) => (await import('./commands/doctor.ts')).doctorCommand(o));

  const kmod = program.command('kmod').description('build, load, unload and inspect the load_monitor kernel module');
  kmod
    .command('build')
    .description('build kernel/load_monitor.ko against a kernel build tree')
    .option('--kdir <dir>', 'kernel build directory (default: /lib/modules/$(uname -r)/build)')
    .action(async (o) => (await import('./commands/kmod.ts')).kmodBuildCommand(o));
  kmod
    .command('load')
    .description('insmod the module with parameters (root)')
    .option('--ko <path>', 'the .ko file to load (default: kernel/load_monitor.ko)')
    .option('--threshold <load>', 'load1 at which the module captures (module default 3)')
    .option('--interval <duration>', 'how often the module checks the load (module default 10ms)')
    .option('--cooldown <duration>', 'minimum time between captures, whole seconds (module default 20s)')
    .option('--depth <frames>', 'kernel frames kept per task, 1-64 (module default 20)')
    .option('--max-tasks <n>', 'tasks stored per snapshot (module default 512)')
    .option('--keep <n>', 'snapshots kept in /proc/load_monitor (module default 4)')
    .option('--printk', "also print the seed's dmesg layout (rate-limited)")
    .action(async (o) => (await import('./commands/kmod.ts')).kmodLoadCommand(o));
  kmod
    .command('unload')
    .description('rmmod the module (root)')
    .action(async () => (await import('./commands/kmod.ts')).kmodUnloadCommand());
  kmod
    .command('status')
    .description('module support, headers, build and load state, parameters')
    .option('--json', 'machine output')
    .action(async (o) => (await import('./commands/kmod.ts')).kmodStatusCommand(o));

  return program;
}

/**
 * Commander is given the defaults so that --help shows them, but a command
 * must see only what was typed: `raw.x !== undefined` then means "given"
 * (watch writes only given options into the kernel module, not defaults
 * over `kmod load`'s values), and the parsers fill in the same defaults.
 * The value source stays 'default', so `serve` still tells typed from not.
 */
function forgetDefaults(cmd: Command): void {
  for (const opt of cmd.options) {
    const key = opt.attributeName();
    if (cmd.getOptionValueSource(key) === 'default') cmd.setOptionValueWithSource(key, undefined, 'default');
  }
}

/** Commands that run until stopped: a signal asks them to finish instead of killing them. */
const LONG_RUNNING = new Set(['watch', 'record', 'demo', 'serve']);

export async function main(argv: string[]): Promise<number> {
  installStdoutGuard();
  installShutdownHandlers(LONG_RUNNING.has(argv[0] ?? ''));
  const program = buildProgram();
  try {
    // A bad LOADMON_* value stops every command before it starts, like a bad option.
    loadmonEnv();
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    return handleError(err, program);
  }
}

function handleError(err: unknown, program: Command): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
    // No command at all: commander has already printed the help on stderr.
    if (err.code === 'commander.help') return 2;
    if (err.code === 'commander.unknownCommand') {
      process.stderr.write(`loadmon: ${escapeText(stripPrefix(err.message))}\n\n${program.helpInformation()}`);
      return 2;
    }
    process.stderr.write(`loadmon: ${escapeText(stripPrefix(err.message))}\n`);
    return 2;
  }
  if (err instanceof LoadmonError) {
    const worded = inOptionWords(err);
    // Messages quote what the user typed and what tasks and files hold: escaped like every human output.
    process.stderr.write(`loadmon: ${escapeText(worded.message)}\n`);
    return worded.exitStatus;
  }
  const e = err as Error;
  process.stderr.write(`loadmon: internal error: ${escapeText(e?.message ?? String(err))}\n`);
  if (debugWanted()) process.stderr.write(`${e?.stack ?? ''}\n`);
  return 1;
}

/** LOADMON_DEBUG, read without throwing: the environment may be what failed. */
function debugWanted(): boolean {
  try {
    return loadmonEnv().debug;
  } catch {
    return false;
  }
}

/**
 * The store words its errors for any caller; on the command line a store
 * path always comes from --db and a capture id from --capture, so those
 * errors are said like a bad option (exit status and code unchanged).
 */
const OPTION_OF: Partial<Record<ErrorCode, string>> = { E_STORE_MISSING: '--db', E_CAPTURE_NOT_FOUND: '--capture' };

export function inOptionWords(err: LoadmonError): LoadmonError {
  const option = OPTION_OF[err.code];
  return option === undefined ? err : (optionError(err, option) as LoadmonError);
}

function stripPrefix(msg: string): string {
  return msg.replace(/^error: /, '');
}

/** True when this file is the program node runs (the bin symlink resolved), not a module a test imports. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(process.argv.slice(2));
  // A command may have set its own status (demo: 130 after Ctrl-C); errors override it.
  if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
}
