/**
 * commander, typed by `@commander-js/extra-typings` (whose runtime is commander's own classes).
 * Every module of the CLI takes `Command`, `Option`, `Argument` and `CommanderError` from here.
 *
 * commander 15 is an ES module, so it is imported like one: a `require` of it (see
 * `common_js.ts`, which is for CommonJS packages) goes through Deno's require(esm) and cost every
 * start about 1 ms more (`deno task bench`).
 *
 * @module
 */

// deno-lint-ignore-file ban-types no-explicit-any -- the generic defaults are extra-typings' own

import type * as Typed from "@commander-js/extra-typings";
import * as commander from "@commander-js/extra-typings";

/** A command: its arguments, options and action, with types inferred as they are declared. */
export const Command: typeof Typed.Command = commander.Command;
/** A command whose arguments and options are typed `Args` and `Opts`. */
export type Command<
  Args extends any[] = [],
  Opts extends Typed.OptionValues = {},
  GlobalOpts extends Typed.OptionValues = {},
> = Typed.Command<Args, Opts, GlobalOpts>;

/** An option built on its own (for `.addOption`: environment variables, choices, presets). */
export const Option: typeof Typed.Option = commander.Option;
/** An option with its inferred value types. */
export type Option<
  Usage extends string = "",
  PresetT = undefined,
  DefaultT = undefined,
  CoerceT = undefined,
  Mandatory extends boolean = false,
  ChoicesT = undefined,
> = Typed.Option<Usage, PresetT, DefaultT, CoerceT, Mandatory, ChoicesT>;

/** A positional argument built on its own (for `.addArgument`: choices). */
export const Argument: typeof Typed.Argument = commander.Argument;
/** A positional argument with its inferred value types. */
export type Argument<
  Usage extends string = "",
  DefaultT = undefined,
  CoerceT = undefined,
  ArgRequired extends boolean | undefined = undefined,
  ChoicesT = undefined,
> = Typed.Argument<Usage, DefaultT, CoerceT, ArgRequired, ChoicesT>;

/** What commander throws (with `exitOverride`) after it has printed an error, help or version. */
export const CommanderError: typeof Typed.CommanderError = commander.CommanderError;
/** What commander throws. */
export type CommanderError = Typed.CommanderError;

/** A command whatever its arguments and options. */
export type CommandUnknownOpts = Typed.CommandUnknownOpts;
