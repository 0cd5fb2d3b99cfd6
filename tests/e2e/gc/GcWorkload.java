// SPDX-License-Identifier: GPL-2.0
// Known HotSpot collections for e2e_gc.sh: waits for the file args[1],
// allocates args[2] MiB of short-lived garbage (young collections), then
// calls System.gc() args[0] times (full collections).
import java.nio.file.Files;
import java.nio.file.Path;

public class GcWorkload {
	static volatile byte[] sink;

	public static void main(String[] args) throws Exception {
		int fulls = Integer.parseInt(args[0]);
		Path go = Path.of(args[1]);
		int mib = Integer.parseInt(args[2]);

		while (!Files.exists(go))
			Thread.sleep(20);
		for (int i = 0; i < mib; i++)
			sink = new byte[1 << 20];
		for (int i = 0; i < fulls; i++)
			System.gc();
		System.out.println("done");
	}
}
