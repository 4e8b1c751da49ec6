/*
 * The simulated slaves of tests/bench/slave_driver_bench.ts, in C: the same loop as the
 * benchmark's Deno client (one thread drives N REQ sockets, paced or closed-loop), at a
 * fraction of its CPU time, so that on a small machine the load generator takes less of the
 * CPU the SlaveDriver is measured on.
 *
 * Usage: slave_client ENDPOINT N SECONDS RATE HELLO IDLE BUSY BUILT BYE
 * (the messages as hex CBOR, encoded by the benchmark). Prints the benchmark's Result JSON, with
 * `builds`: how many DONE replies came (builds finished; tests/bench/build_path_bench.ts).
 * Built by the benchmark with `cc -O2 slave_client.c -l:libzmq.so.5` (no headers needed).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The few libzmq declarations used (zmq.h is in libzmq3-dev, which need not be installed). */
typedef struct {
  void *socket;
  int fd;
  short events;
  short revents;
} zmq_pollitem_t;
void *zmq_ctx_new(void);
int zmq_ctx_term(void *context);
void *zmq_socket(void *context, int type);
int zmq_connect(void *socket, const char *endpoint);
int zmq_setsockopt(void *socket, int option, const void *value, size_t length);
int zmq_close(void *socket);
int zmq_send(void *socket, const void *buffer, size_t length, int flags);
int zmq_recv(void *socket, void *buffer, size_t length, int flags);
int zmq_poll(zmq_pollitem_t *items, int count, long timeout);
#define ZMQ_REQ 3
#define ZMQ_LINGER 17
#define ZMQ_POLLIN 1
#define ZMQ_DONTWAIT 1

typedef struct {
  uint8_t *bytes;
  size_t length;
} message_t;

typedef struct {
  void *socket;
  const message_t *request;
  double due;
  double scheduled; /* < 0: no request in flight */
  double sent;
  size_t builds; /* DONE replies this slave had */
} slave_t;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static message_t from_hex(const char *hex) {
  message_t m = {malloc(strlen(hex) / 2 + 1), strlen(hex) / 2};
  for (size_t i = 0; i < m.length; i++) sscanf(hex + 2 * i, "%2hhx", &m.bytes[i]);
  return m;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(double *values, size_t n, double p) {
  if (n == 0) return 0;
  qsort(values, n, sizeof(double), compare);
  size_t i = (size_t)(n * p);
  return values[i < n ? i : n - 1];
}

/* Whether the reply is `name`: `[name, data]` in CBOR, or the bare name when it has no data. */
static int reply_is(const uint8_t *reply, int length, const char *name) {
  int n = (int)strlen(name), at = reply[0] == 0x82 ? 1 : 0;
  return length >= at + 1 + n && reply[at] == (0x60 | n) && memcmp(reply + at + 1, name, n) == 0;
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: slave_client ENDPOINT N SECONDS RATE HELLO IDLE BUSY BUILT BYE\n");
    return 2;
  }
  const char *endpoint = argv[1];
  int n = atoi(argv[2]);
  double seconds = atof(argv[3]), rate = atof(argv[4]);
  message_t hello = from_hex(argv[5]), idle = from_hex(argv[6]), busy = from_hex(argv[7]);
  message_t built = from_hex(argv[8]), bye = from_hex(argv[9]);
  void *context = zmq_ctx_new();
  slave_t *slaves = calloc(n, sizeof(slave_t));
  zmq_pollitem_t *items = calloc(n, sizeof(zmq_pollitem_t));
  slave_t **waiting = calloc(n, sizeof(slave_t *));
  size_t capacity = 1 << 20, count = 0, builds = 0, sleeps = 0;
  double *latencies = malloc(capacity * sizeof(double));
  double *from_schedule = malloc(capacity * sizeof(double));
  double *lags = malloc(capacity * sizeof(double));
  double interval = rate > 0 ? 1000.0 * n / rate : 0;
  double start = now_ms(), deadline = start + seconds * 1000;
  int zero = 0;
  for (int i = 0; i < n; i++) {
    slaves[i].socket = zmq_socket(context, ZMQ_REQ);
    zmq_setsockopt(slaves[i].socket, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(slaves[i].socket, endpoint) != 0) {
      fprintf(stderr, "cannot connect to %s\n", endpoint);
      return 1;
    }
    slaves[i].request = &hello;
    slaves[i].due = start + interval * i / n;
    slaves[i].scheduled = -1;
  }
  uint8_t reply[4096];
  /* Mean latency per request kind (IDLE, BUSY, BUILT), to show which hop holds a cycle up. */
  double kind_sum[3] = {0, 0, 0};
  size_t kind_count[3] = {0, 0, 0};
  for (double now = now_ms(); now < deadline; now = now_ms()) {
    double next_due = deadline;
    int polled = 0;
    for (int i = 0; i < n; i++) {
      slave_t *s = &slaves[i];
      if (s->scheduled < 0) {
        if (s->due <= now) {
          s->scheduled = s->due;
          s->sent = now_ms();
          if (zmq_send(s->socket, s->request->bytes, s->request->length, ZMQ_DONTWAIT) < 0) {
            fprintf(stderr, "cannot send a request\n");
            return 1;
          }
        } else {
          if (s->due < next_due) next_due = s->due;
          continue;
        }
      }
      items[polled] = (zmq_pollitem_t){s->socket, 0, ZMQ_POLLIN, 0};
      waiting[polled++] = s;
    }
    double wait = next_due - now_ms();
    long timeout = wait <= 0 ? 0 : (long)wait + 1;
    if (zmq_poll(items, polled, timeout) <= 0) continue;
    for (int i = 0; i < polled; i++) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      slave_t *s = waiting[i];
      int length = zmq_recv(s->socket, reply, sizeof reply, ZMQ_DONTWAIT);
      if (length < 0) continue;
      double received = now_ms();
      if (count == capacity) {
        capacity *= 2;
        latencies = realloc(latencies, capacity * sizeof(double));
        from_schedule = realloc(from_schedule, capacity * sizeof(double));
        lags = realloc(lags, capacity * sizeof(double));
      }
      latencies[count] = received - s->sent;
      from_schedule[count] = received - s->scheduled;
      lags[count++] = s->sent - s->scheduled;
      int kind = s->request == &idle ? 0 : s->request == &busy ? 1 : s->request == &built ? 2 : -1;
      if (kind >= 0) {
        kind_sum[kind] += received - s->sent;
        kind_count[kind]++;
      }
      if (reply_is(reply, length, "DONE")) {
        builds++;
        s->builds++;
      }
      if (reply_is(reply, length, "SLEEP")) sleeps++;
      s->request = reply_is(reply, length, "BUILD") ? &busy
                   : reply_is(reply, length, "CONT")  ? &built
                                                      : &idle; /* after ACK, SLEEP, DONE */
      s->due = interval > 0 ? s->scheduled + interval : received;
      s->scheduled = -1;
    }
  }
  double elapsed = (now_ms() - start) / 1000;
  /* Requests still unanswered at the end, and the oldest's age: a reply that never came. */
  int unanswered = 0;
  char waiting_for[64] = "";
  double oldest = 0, end = now_ms();
  for (int i = 0; i < n; i++) {
    if (slaves[i].scheduled < 0) continue;
    unanswered++;
    const message_t *r = slaves[i].request;
    if (strlen(waiting_for) < 50)
      strcat(waiting_for, r == &hello ? "H" : r == &idle ? "I" : r == &busy ? "U" : r == &built ? "B" : "?");
    if (end - slaves[i].sent > oldest) oldest = end - slaves[i].sent;
  }
  double lag_sum = 0;
  for (size_t i = 0; i < count; i++) lag_sum += lags[i];
  /* Slaves that finished no build at all. */
  int idle_slaves = 0;
  for (int i = 0; i < n; i++) idle_slaves += slaves[i].builds == 0;
  for (int i = 0; i < n; i++) {
    if (slaves[i].scheduled < 0) zmq_send(slaves[i].socket, bye.bytes, bye.length, ZMQ_DONTWAIT);
    int linger = 100;
    zmq_setsockopt(slaves[i].socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(slaves[i].socket);
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu_us = usage.ru_utime.tv_sec * 1e6 + usage.ru_utime.tv_usec +
                  usage.ru_stime.tv_sec * 1e6 + usage.ru_stime.tv_usec;
  printf("{\"n\":%d,\"requests\":%zu,\"rate\":%f,\"p50\":%f,\"p99\":%f,\"scheduledP99\":%f,"
         "\"lagP99\":%f,\"clientCpuUs\":%f,\"builds\":%zu,\"meanIdle\":%f,\"meanBusy\":%f,"
         "\"meanBuilt\":%f,\"sleeps\":%zu,\"idleSlaves\":%d,\"meanLag\":%f,\"unanswered\":%d,\"oldestMs\":%f,\"waitingFor\":\"%s\"}\n",
         n, count, count / elapsed, percentile(latencies, count, 0.5),
         percentile(latencies, count, 0.99), percentile(from_schedule, count, 0.99),
         percentile(lags, count, 0.99), count ? cpu_us / count : 0, builds,
         kind_count[0] ? kind_sum[0] / kind_count[0] : 0,
         kind_count[1] ? kind_sum[1] / kind_count[1] : 0,
         kind_count[2] ? kind_sum[2] / kind_count[2] : 0, sleeps, idle_slaves,
         count ? lag_sum / count : 0, unanswered, oldest, waiting_for);
  zmq_ctx_term(context);
  return 0;
}
