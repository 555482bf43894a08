// The CLI's two kinds of failure, told apart by their exit codes.

/** The command could not do its job (bad input file, store not fresh, …): exit code 1. */
export class CliError extends Error {}

/** Wrong arguments: printed with the usage, exit code 2. */
export class UsageError extends CliError {}
