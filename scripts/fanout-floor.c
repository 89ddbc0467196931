// fanout-floor: the fastest fan-out this machine allows, for reading
// herald bench's numbers against. W writer threads write one 300-byte
// message carrying its send time to each of N loopback TCP connections,
// R rounds GAP ms apart; a reader process takes everything with epoll and
// raw reads (what an ideal load tool would spend) and prints the
// publish->receive p50/p99 and both sides' CPU per message. No server does
// less work per delivery than this loop: one write() per connection per
// event, nothing else.
//
//   cc -O2 -pthread -o /tmp/fanout-floor scripts/fanout-floor.c
//   /tmp/fanout-floor 10000 2 40 200    # N W R GAP: 10,000 × 5/s, 2 writers
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int N, W, R, GAP;
static int *fds;
static char msg[300];
static pthread_barrier_t start, done;

static long long now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static double cpu_s(void) {
	struct rusage r;
	getrusage(RUSAGE_SELF, &r);
	return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void *writer(void *arg) {
	long id = (long)arg;
	for (int r = 0; r < R; r++) {
		pthread_barrier_wait(&start);
		for (int i = id; i < N; i += W)
			if (write(fds[i], msg, sizeof msg) != sizeof msg)
				perror("write");
		pthread_barrier_wait(&done);
	}
	return NULL;
}

static int cmp(const void *a, const void *b) {
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static void reader(struct sockaddr_in addr, int ready) {
	int ep = epoll_create1(0);
	for (int i = 0; i < N; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(s, (struct sockaddr *)&addr, sizeof addr);
		struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.fd = s};
		epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
	}
	write(ready, "x", 1);
	long long *lat = malloc(sizeof *lat * (long long)N * R);
	long n = 0;
	char buf[4096];
	struct epoll_event ev[512];
	double c0 = cpu_s();
	for (;;) {
		int k = epoll_wait(ep, ev, 512, 2000);
		if (k <= 0)
			break; // two quiet seconds: the writer is done
		long long t = now_ns();
		for (int i = 0; i < k; i++) {
			for (;;) {
				ssize_t m = read(ev[i].data.fd, buf, sizeof buf);
				if (m <= 0)
					break;
				for (ssize_t o = 0; o + (ssize_t)sizeof msg <= m; o += sizeof msg)
					lat[n++] = t - atoll(buf + o);
				if (m < (ssize_t)sizeof buf)
					break;
			}
			t = now_ns();
		}
	}
	if (n == 0) {
		fprintf(stderr, "reader: nothing received\n");
		exit(1);
	}
	qsort(lat, n, sizeof *lat, cmp);
	printf("reader: %ld messages, %.2f us CPU each; publish->receive p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       n, (cpu_s() - c0) * 1e6 / n, lat[n / 2] / 1e6, lat[n * 99 / 100] / 1e6, lat[n - 1] / 1e6);
	exit(0);
}

int main(int argc, char **argv) {
	if (argc != 5) {
		fprintf(stderr, "usage: %s CONNECTIONS WRITERS ROUNDS GAP_MS\n", argv[0]);
		return 2;
	}
	N = atoi(argv[1]), W = atoi(argv[2]), R = atoi(argv[3]), GAP = atoi(argv[4]);
	struct rlimit rl = {2 * N + 64, 2 * N + 64};
	setrlimit(RLIMIT_NOFILE, &rl);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof addr;
	if (bind(ls, (struct sockaddr *)&addr, sizeof addr) || listen(ls, 4096) || getsockname(ls, (struct sockaddr *)&addr, &alen)) {
		perror("listen");
		return 1;
	}
	int p[2];
	pipe(p);
	pid_t kid = fork();
	if (kid == 0)
		reader(addr, p[1]);
	fds = malloc(N * sizeof *fds);
	for (int i = 0; i < N; i++) {
		fds[i] = accept(ls, NULL, NULL);
		setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	char c;
	read(p[0], &c, 1);
	usleep(300000);
	pthread_barrier_init(&start, NULL, W + 1);
	pthread_barrier_init(&done, NULL, W + 1);
	pthread_t t[64];
	for (long i = 0; i < W && i < 64; i++)
		pthread_create(&t[i], NULL, writer, (void *)i);
	double c0 = cpu_s();
	for (int r = 0; r < R; r++) {
		memset(msg, ' ', sizeof msg);
		int k = snprintf(msg, 32, "%lld", now_ns());
		msg[k] = ' ';
		pthread_barrier_wait(&start);
		pthread_barrier_wait(&done);
		usleep(GAP * 1000);
	}
	printf("writers: %d, %.2f us CPU per write\n", W, (cpu_s() - c0) * 1e6 / ((double)N * R));
	fflush(stdout);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	waitpid(kid, NULL, 0);
	return 0;
}
