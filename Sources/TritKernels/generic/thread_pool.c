/* A persistent thread pool: workers spin for a bounded time on a job counter, then sleep
 * on a condition variable (unbounded spinning is catastrophic on an oversubscribed machine;
 * condvar-only costs ~9 us per call: swift-build-notes.md). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "trit_kernels.h"

#define TK_SPIN_ITERS 20000

struct tk_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic uint64_t generation; /* bumped once per job */
    _Atomic int done;            /* workers finished with the current job */
    _Atomic int stop;
    tk_job_fn fn;
    void *ctx;
};

typedef struct { tk_pool *pool; int ith; } worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    free(p);
    tk_pool *pool = arg.pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&pool->stop, memory_order_acquire) && spins < TK_SPIN_ITERS) {
            cpu_relax();
            spins++;
        }
        if (gen == seen && !atomic_load(&pool->stop)) {
            pthread_mutex_lock(&pool->lock);
            while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->wake, &pool->lock);
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = gen;
        pool->fn(pool->ctx, arg.ith, pool->n_threads);
        atomic_fetch_add_explicit(&pool->done, 1, memory_order_acq_rel);
    }
}

tk_pool *tk_pool_create(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    tk_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    if (n_threads > 1) {
        pool->threads = calloc((size_t)n_threads - 1, sizeof(pthread_t));
        if (!pool->threads) { free(pool); return NULL; }
        for (int i = 1; i < n_threads; i++) {
            worker_arg *arg = malloc(sizeof *arg);
            int rc = arg ? 0 : ENOMEM;
            if (arg) {
                arg->pool = pool;
                arg->ith = i;
                rc = pthread_create(&pool->threads[i - 1], NULL, worker_main, arg);
                if (rc) free(arg);
            }
            if (rc) { /* stop the ones already started */
                pool->n_threads = i;
                tk_pool_free(pool);
                errno = rc;
                return NULL;
            }
        }
    }
    return pool;
}

int tk_pool_size(const tk_pool *pool) { return pool ? pool->n_threads : 1; }

void tk_pool_run(tk_pool *pool, tk_job_fn fn, void *ctx) {
    if (!pool || pool->n_threads == 1) { fn(ctx, 0, 1); return; }
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    fn(ctx, 0, pool->n_threads);
    const int others = pool->n_threads - 1;
    int spins = 0;
    while (atomic_load_explicit(&pool->done, memory_order_acquire) < others) {
        if (++spins < TK_SPIN_ITERS) cpu_relax(); else sched_yield();
    }
}

void tk_pool_free(tk_pool *pool) {
    if (!pool) return;
    if (pool->threads) {
        pthread_mutex_lock(&pool->lock);
        atomic_store(&pool->stop, 1);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
        for (int i = 1; i < pool->n_threads; i++) pthread_join(pool->threads[i - 1], NULL);
        free(pool->threads);
    }
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    free(pool);
}
