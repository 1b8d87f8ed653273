/* Times libseccomp on a filter the way runc 1.1 builds it (bench/seccomp.sh).
 *
 * usage: seccomp-compile FILTER RUNS
 *
 * FILTER, as bench/seccomp.sh writes it from a berth bundle's linux.seccomp:
 *   line 1: the architectures (SCMP_ARCH_X86_64 SCMP_ARCH_X86 SCMP_ARCH_X32)
 *   line 2: the default action and its errno (SCMP_ACT_ERRNO 1)
 *   then one line per syscall name: NAME ACTION ERRNO NARGS [INDEX OP VALUE VALUE2]...
 *
 * Per run: seccomp_init, seccomp_arch_add for each architecture, one
 * seccomp_rule_add_array per resolvable name (runc resolves each name on the
 * native architecture and skips the unknown ones), then seccomp_export_bpf
 * (where libseccomp generates the program). Prints, as a Markdown row tail,
 * the fastest run's time to add the rules, to generate the program, in all,
 * and the program's length in instructions.
 */
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint32_t action(const char *name, unsigned int errno_ret)
{
	if (!strcmp(name, "SCMP_ACT_ALLOW"))
		return SCMP_ACT_ALLOW;
	if (!strcmp(name, "SCMP_ACT_ERRNO"))
		return SCMP_ACT_ERRNO(errno_ret);
	if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
		return SCMP_ACT_KILL;
	if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
		return SCMP_ACT_KILL_PROCESS;
	if (!strcmp(name, "SCMP_ACT_TRAP"))
		return SCMP_ACT_TRAP;
	if (!strcmp(name, "SCMP_ACT_LOG"))
		return SCMP_ACT_LOG;
	fprintf(stderr, "unknown action %s\n", name);
	exit(1);
}

/* One run; fills times[3] (rules, generation, total) and returns the
 * program's length in bytes. */
static long run_once(const char *path, double times[3])
{
	char line[4096], name[128], act[64];
	unsigned int errno_ret;
	FILE *in = fopen(path, "r");
	if (!in || !fgets(line, sizeof line, in)) {
		perror(path);
		exit(1);
	}
	char archs[4096];
	strcpy(archs, line);
	if (!fgets(line, sizeof line, in) || sscanf(line, "%63s %u", act, &errno_ret) != 2) {
		fprintf(stderr, "%s: no default action\n", path);
		exit(1);
	}
	double t0 = now_ms();
	scmp_filter_ctx ctx = seccomp_init(action(act, errno_ret));
	for (char *a = strtok(archs, " \n"); a; a = strtok(NULL, " \n")) {
		/* libseccomp names them in lower case, without the prefix */
		char lower[64];
		size_t i;
		const char *s = a + (strncmp(a, "SCMP_ARCH_", 10) ? 0 : 10);
		for (i = 0; s[i] && i < sizeof lower - 1; i++)
			lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i];
		lower[i] = 0;
		uint32_t token = seccomp_arch_resolve_name(lower);
		if (token == 0) {
			fprintf(stderr, "unknown architecture %s\n", a);
			exit(1);
		}
		if (token != seccomp_arch_native() && seccomp_arch_add(ctx, token) != 0) {
			fprintf(stderr, "cannot add architecture %s\n", a);
			exit(1);
		}
	}
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	double t1 = now_ms();
	while (fgets(line, sizeof line, in)) {
		int nargs, used;
		if (sscanf(line, "%127s %63s %u %d%n", name, act, &errno_ret, &nargs, &used) != 4)
			continue;
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		struct scmp_arg_cmp cmp[6];
		char *p = line + used;
		for (int i = 0; i < nargs && i < 6; i++) {
			unsigned int index, op;
			unsigned long long a, b;
			if (sscanf(p, "%u %u %llu %llu%n", &index, &op, &a, &b, &used) != 4)
				break;
			p += used;
			cmp[i] = (struct scmp_arg_cmp){ index, op, a, b };
		}
		if (seccomp_rule_add_array(ctx, action(act, errno_ret), nr, nargs, cmp) != 0)
			fprintf(stderr, "rule for %s refused\n", name);
	}
	double t2 = now_ms();
	char out[] = "/tmp/seccomp-compile.XXXXXX";
	int fd = mkstemp(out);
	if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0) {
		fprintf(stderr, "export failed\n");
		exit(1);
	}
	double t3 = now_ms();
	struct stat st;
	fstat(fd, &st);
	close(fd);
	unlink(out);
	seccomp_release(ctx);
	fclose(in);
	times[0] = t2 - t1;
	times[1] = t3 - t2;
	times[2] = t3 - t0;
	return st.st_size;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s FILTER RUNS\n", argv[0]);
		return 2;
	}
	int runs = atoi(argv[2]);
	double best[3] = { 1e9, 1e9, 1e9 };
	long size = 0;
	for (int i = 0; i < runs; i++) {
		double t[3];
		size = run_once(argv[1], t);
		for (int j = 0; j < 3; j++)
			if (t[j] < best[j])
				best[j] = t[j];
	}
	printf("%.2f | %.2f | %.2f | %ld", best[0], best[1], best[2], size / 8);
	return 0;
}
