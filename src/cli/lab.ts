/** `sallyport lab`: the whole topology on one machine. Until it is built, it says what exists. */
export async function runLab(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: sallyport lab\n\nRuns the local lab. Not built yet: see README "Status".\n');
    return 0;
  }
  process.stdout.write(
    [
      'sallyport lab: the full lab (coordinator, relay, connector, engineer, targets) is not built yet.',
      'What exists today is the WireGuard-exact session core; run `npm test` to exercise it.',
      '',
    ].join('\n'),
  );
  return 0;
}
