/* The body of one decode row of the gated delta rule (tk_delta_step_fn in trit_kernels.h), shared by the
 * scalar form (delta_rule.c) and the x86 ones (x86/delta_step_x86.c), which compile it for wider vectors:
 * the loops over j are independent per element, so vectorizing them keeps each element's order. The x86
 * file turns off contraction (a product and a sum fused into an FMA would round once, not twice: other
 * bits than the scalar form's, whose baseline x86-64 target has no FMA). */
#ifndef TRIT_DELTA_STEP_H
#define TRIT_DELTA_STEP_H
#define TK_DELTA_STEP_BODY                                                                   \
    for (int64_t j = 0; j < dv; j++) delta[j] = 0;                                           \
    for (int64_t i = 0; i < dk; i++) {                                                       \
        float *restrict row = S + i * dv;                                                    \
        const float ki = k[i];                                                               \
        for (int64_t j = 0; j < dv; j++) { row[j] *= decay; delta[j] += row[j] * ki; }       \
    }                                                                                        \
    for (int64_t j = 0; j < dv; j++) { delta[j] = (v[j] - delta[j]) * beta; out[j] = 0; }    \
    for (int64_t i = 0; i < dk; i++) {                                                       \
        float *restrict row = S + i * dv;                                                    \
        const float ki = k[i], qi = q[i];                                                    \
        for (int64_t j = 0; j < dv; j++) { row[j] += ki * delta[j]; out[j] += row[j] * qi; } \
    }
#define TK_DELTA_STEP_PARAMS                                                                 \
    float *restrict S, const float *restrict q, const float *restrict k, const float *restrict v, float decay, \
    float beta, float *restrict out, float *restrict delta, int64_t dk, int64_t dv
#endif
