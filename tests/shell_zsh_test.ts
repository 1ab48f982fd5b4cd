// timebound-iam shell --shell zsh under a pseudo-terminal: the countdown prompt, aws as the broker
// role, renewal and the exit code (see tests/support/shell_session.ts; a file per shell so that the
// three run in parallel).
import { testShellSession } from "./support/shell_session.ts";

await testShellSession("zsh");
