// The tight-loop bound of one training sample (issue 28): exactly the counted work of an N-neuron
// Diehl & Cook or SpikeDyn training sample -- Poisson draws, input spikes and their synaptic events
// (with the pre-synaptic STDP depression where the model has one), neuron updates of every layer
// every step, excitatory spikes with their potentiation over all inputs and their lateral events,
// and the sample's normalisation updates -- in plain C++ loops, structure-of-arrays, no
// framework.  The counts per sample are arguments (from the compiled run's exact counts), so the
// bound does the same amount of each kind of work as the simulation it is compared with.
// DELAY_SLOTS (optional, default 0): with D > 0 every input synapse has a fixed delay of 0 ... D-1
// steps (uniform over [0, D-1] ms-steps, rounded, as Diehl & Cook's input delays), and each input
// spike's events -- transmission and depression -- happen at their arrival steps, one by one from a
// queue of synapse indices per slot: the same counted work, done when the model says it happens.
// Without it the events of a spike run at once, contiguously (what the bound measures).
// benchmarks/throughput.py compiles it with Brian2's own flags and FTZ/DAZ on (as our binaries).
//
//   tight_loop SAMPLES STEPS STEPS_ON N_IN N_EXC N_INH DRAWS IN_SPIKES EXC_SPIKES INH_SPIKES
//              PRE_STDP NORM_UPDATES LATERAL_PER_EXC_SPIKE [DELAY_SLOTS]
//
// prints: samples/s, a checksum (so that nothing is optimised away), the Poisson hits and the
// input synaptic events done (equal with and without delays: the same work, done at other steps).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

static void flush_denormals() {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int c;
    __asm__ __volatile__("stmxcsr %0" : "=m"(c));
    c |= 0x8040u;
    __asm__ __volatile__("ldmxcsr %0" : : "m"(c));
#elif defined(__aarch64__)
    unsigned long f;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(f));
    f |= (1UL << 24);
    __asm__ __volatile__("msr fpcr, %0" : : "r"(f));
#endif
}

// how many of `total` events fall in step s of `steps` (spread evenly, exact total)
static inline long share(double total, long s, long steps) {
    return (long)std::floor((s + 1) * total / steps) - (long)std::floor(s * total / steps);
}

int main(int argc, char **argv) {
    if (argc != 14 && argc != 15) {
        std::fprintf(stderr, "usage: %s SAMPLES STEPS STEPS_ON N_IN N_EXC N_INH DRAWS IN_SPIKES EXC_SPIKES "
                             "INH_SPIKES PRE_STDP NORM_UPDATES LATERAL_PER_EXC_SPIKE [DELAY_SLOTS]\n", argv[0]);
        return 2;
    }
    flush_denormals();
    const long samples = std::atol(argv[1]), steps = std::atol(argv[2]), steps_on = std::atol(argv[3]);
    const int n_in = std::atoi(argv[4]), n_exc = std::atoi(argv[5]), n_inh = std::atoi(argv[6]);
    const double draws = std::atof(argv[7]), in_spikes = std::atof(argv[8]), exc_spikes = std::atof(argv[9]),
                 inh_spikes = std::atof(argv[10]);
    const int pre_stdp = std::atoi(argv[11]);
    const double norm_updates = std::atof(argv[12]), lateral = std::atof(argv[13]);
    const int delay_slots = argc == 15 ? std::atoi(argv[14]) : 0;

    const double dt = 0.5e-3, tau_e = 0.1, tau_i = 0.01, wmax = 1.0, eta_pre = 1e-4, eta_post = 1e-2;
    const double dge = std::exp(-dt / 1e-3), dgi = std::exp(-dt / 2e-3), dx1 = std::exp(-dt / 20e-3),
                 dx2 = std::exp(-dt / 40e-3), dth = std::exp(-dt / 1e4);
    std::vector<double> w((size_t)n_in * n_exc), wsum(n_exc, 0.0), tspk(n_in, -1e9);
    std::vector<double> v(n_exc, -0.105), ge(n_exc, 0.0), gi(n_exc, 0.0), theta(n_exc, 0.02), x1(n_exc, 0.0),
                        x2(n_exc, 0.0), vi(n_inh, -0.1), gei(n_inh, 0.0), gii(n_inh, 0.0);
    std::mt19937 gen(1);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    for (size_t k = 0; k < w.size(); k++) w[k] = (uni(gen) + 0.01) * 0.3;
    for (size_t k = 0; k < w.size(); k++) wsum[k % n_exc] += w[k];
    // delayed events: each synapse's target, each source's synapse indices grouped by delay (steps;
    // by_delay[first[i * D + d] ... first[i * D + d + 1]) have delay d), a queue of indices per slot
    const int D = delay_slots;
    std::vector<int> target(D ? w.size() : 0), by_delay(target.size()), first(D ? (size_t)n_in * D + 1 : 0);
    if (D) {
        std::vector<int> delay(w.size());
        std::mt19937 delay_gen(2);          // (its own stream: the Poisson draws stay those of D = 0)
        for (size_t k = 0; k < w.size(); k++) {
            delay[k] = (int)std::lround(uni(delay_gen) * (D - 1));
            target[k] = (int)(k % n_exc);
        }
        for (int i = 0, n = 0; i < n_in; i++)
            for (int d = 0; d < D; d++) {
                first[(size_t)i * D + d] = n;
                for (int j = 0; j < n_exc; j++)
                    if (delay[(size_t)i * n_exc + j] == d) by_delay[n++] = i * n_exc + j;
            }
        first[(size_t)n_in * D] = (int)w.size();
    }
    std::vector<std::vector<int>> queue(D);
    int slot = 0;
    unsigned long hits = 0, src = 0, post = 0, events = 0;
    double sink = 0.0;
    auto t0 = std::chrono::steady_clock::now();
    for (long smp = 0; smp < samples; smp++) {
        for (long s = 0; s < steps; s++) {
            const double t = (smp * steps + s) * dt;
            const bool on = s < steps_on;
            // Poisson draws of the input layer (each against its pixel's probability)
            if (on) {
                const long nd = share(draws, s, steps_on);
                for (long d = 0; d < nd; d++) hits += uni(gen) < 0.03;
            }
            // input spikes: their synaptic events onto every excitatory neuron
            const long ns = on ? share(in_spikes, s, steps_on) : 0;
            for (long k = 0; k < ns; k++) {
                src = (src + 337) % n_in;
                tspk[src] = t;
                double *wr = &w[src * (size_t)n_exc];
                events += D ? 0 : n_exc;
                if (D) {
                    for (int d = 0; d < D; d++) {
                        std::vector<int> &q = queue[slot + d < D ? slot + d : slot + d - D];
                        q.insert(q.end(), by_delay.data() + first[src * D + d], by_delay.data() + first[src * D + d + 1]);
                    }
                } else if (pre_stdp) {
                    for (int j = 0; j < n_exc; j++) {
                        ge[j] += wr[j];
                        const double wn = std::min(std::max(wr[j] - eta_pre * x1[j], 0.0), wmax);
                        wsum[j] += wn - wr[j];
                        wr[j] = wn;
                    }
                } else {
                    for (int j = 0; j < n_exc; j++) ge[j] += wr[j];
                }
            }
            // the delayed events arriving now (those of spikes pushed this step with delay 0 too)
            if (D) {
                std::vector<int> &q = queue[slot];
                events += q.size();
                for (size_t k = 0; k < q.size(); k++) {
                    const int idx = q[k], j = target[idx];
                    ge[j] += w[idx];
                    if (pre_stdp) {
                        const double wn = std::min(std::max(w[idx] - eta_pre * x1[j], 0.0), wmax);
                        wsum[j] += wn - w[idx];
                        w[idx] = wn;
                    }
                }
                q.clear();
                slot = slot + 1 < D ? slot + 1 : 0;
            }
            // neuron updates: every neuron of every layer, every step
            for (int j = 0; j < n_exc; j++) {
                v[j] = (dt * (-0.065 / tau_e + (0.0 * ge[j] - 0.1 * gi[j]) / tau_e) + v[j]) /
                       (1.0 + dt / tau_e * (1.0 + ge[j] + gi[j]));
                ge[j] *= dge; gi[j] *= dgi; theta[j] *= dth; x1[j] *= dx1; x2[j] *= dx2;
            }
            for (int j = 0; j < n_inh; j++) {
                vi[j] = (dt * (-0.06 / tau_i + (0.0 * gei[j] - 0.085 * gii[j]) / tau_i) + vi[j]) /
                        (1.0 + dt / tau_i * (1.0 + gei[j] + gii[j]));
                gei[j] *= dge; gii[j] *= dgi;
            }
            // excitatory spikes: potentiation over all inputs (trace evaluated from the last
            // input spike), then the lateral events (exc->inh, or exc->exc all but self)
            const long ne = on ? share(exc_spikes, s, steps_on) : 0;
            for (long k = 0; k < ne; k++) {
                post = (post + 101) % n_exc;
                const int j = (int)post;
                for (int i = 0; i < n_in; i++) {
                    double &wij = w[i * (size_t)n_exc + j];
                    const double wn = std::min(std::max(wij + eta_post * std::exp((tspk[i] - t) / 20e-3) * x2[j], 0.0), wmax);
                    wsum[j] += wn - wij;
                    wij = wn;
                }
                x1[j] = 1.0; x2[j] = 1.0; theta[j] += 5e-5; v[j] = -0.065;
                const long nl = (long)lateral;
                for (long l = 0; l < nl; l++) (n_inh ? gei[(j + l) % n_inh] : gi[(j + 1 + l) % n_exc]) += 10.4;
            }
            // inhibitory spikes: events onto all excitatory neurons but one
            const long ni = on ? share(inh_spikes, s, steps_on) : 0;
            for (long k = 0; k < ni; k++) {
                const int self = (int)((post + k) % (unsigned long)std::max(1, n_inh));
                for (int j = 0; j < n_exc; j++) gi[j] += (j != self) * 17.0;
            }
        }
        // the sample's normalisation updates (columns of the neurons that normalise)
        const long nu = (long)std::llround(norm_updates);
        for (long u = 0, j = 0; u < nu; j = (j + 1) % n_exc) {
            const double f = 78.0 / (wsum[j] + 1e-12);
            double s2 = 0.0;
            for (int i = 0; i < n_in && u < nu; i++, u++) {
                double &wij = w[i * (size_t)n_exc + j];
                wij *= f;
                s2 += wij;
            }
            wsum[j] = s2;
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (int j = 0; j < n_exc; j++) sink += v[j] + ge[j] + wsum[j] + theta[j];
    for (int j = 0; j < n_inh; j++) sink += vi[j];
    std::printf("%.3f %.6g %lu %lu\n", samples / secs, sink, hits, events);
    return 0;
}
