/** The command line `main` was given (commander hands an action its options, not the words): what `--nproc` repeats for its workers. */
let current: string[] = [];

export function setCommandLine(argv: string[]): void {
  current = argv.slice(2);
}

export function commandLine(): string[] {
  return current;
}
