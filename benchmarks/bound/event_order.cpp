// Does storing D&C's input->exc synapses sorted by (source, delay) speed up the delayed event loop?
// (issue 28, docs/performance.md "What is left").  A stand-alone model of `input_exc_pre`: 784 x 400
// synapses with delays in 21 slots, a queue of synapse indices per slot (one block per spike and
// delay, as brian_snn/cpp/spikequeue.h), and per event the D&C update (ge += w, depression clipped to
// [0, 1], wsum and change count).  Argument 0: Brian's storage (source-major, post order); 1: sorted by
// (source, delay), post order inside a block -- the same events in the same order, contiguous blocks.
//     g++ -O3 -ffast-math -fno-finite-math-only -march=native event_order.cpp -o event_order
//     ./event_order 0; ./event_order 1
// Prints events per sample, ns per event in total (with the queue pushes and Poisson draws) and in
// the event loop alone.
#include <vector>
#include <random>
#include <chrono>
#include <cstdio>
#include <algorithm>
int main(int argc, char**argv){
  const int NI=784, NE=400, D=21, STEPS=1000, STEPS_ON=700;
  int sorted = atoi(argv[1]);
  std::mt19937 g(1);
  std::uniform_int_distribution<int> dd(0,D-1);
  std::vector<int> delay(NI*NE); for(auto&x:delay) x=dd(g);
  // storage order
  std::vector<int> perm(NI*NE); for(int k=0;k<NI*NE;k++) perm[k]=k;
  if(sorted) std::stable_sort(perm.begin(), perm.end(), [&](int a,int b){int ia=a/NE, ib=b/NE; if(ia!=ib) return ia<ib; return delay[a]<delay[b];});
  // new index n holds original synapse perm[n]
  std::vector<int> post(NI*NE), del2(NI*NE);
  std::vector<double> w(NI*NE);
  for(int n=0;n<NI*NE;n++){ post[n]=perm[n]%NE; del2[n]=delay[perm[n]]; w[n]=0.3;}
  // blocks per source per delay: list of new indices
  std::vector<std::vector<std::vector<int>>> blocks(NI, std::vector<std::vector<int>>(D));
  for(int n=0;n<NI*NE;n++) blocks[n/NE][del2[n]].push_back(n);
  std::vector<std::vector<int>> queue(D);
  std::vector<double> ge(NE,0), wsum(NE,0), nch(NE,0), x1(NE,0.5), real(NE,1);
  std::uniform_real_distribution<double> u(0,1);
  std::vector<double> rate(NI); for(auto&r:rate) r = u(g)<0.2 ? 0.0065 : 0; // ~ 2289 spikes / 700 steps over 784
  long events=0; double tev=0; int off=0;
  auto t0=std::chrono::steady_clock::now();
  for(int rep=0; rep<20; rep++)
  for(int s=0;s<STEPS;s++){
    if(s<STEPS_ON) for(int i=0;i<NI;i++) if(rate[i]>0 && u(g)<rate[i]*3.2){
        for(int d=0; d<D; d++){ auto &q=queue[(off+d)%D]; q.insert(q.end(), blocks[i][d].begin(), blocks[i][d].end()); }
    }
    auto &q=queue[off];
    auto ta=std::chrono::steady_clock::now();
    for(size_t k=0;k<q.size();k++){ int idx=q[k]; int p=post[idx]; double wv=w[idx]; ge[p]+=wv;
      double wn=std::min(std::max(wv-0.0001*x1[p], 0.0), 1.0); wsum[p]+=wn-wv; nch[p]+=real[p]*(wn!=wv); w[idx]=wn; }
    tev+=std::chrono::duration<double>(std::chrono::steady_clock::now()-ta).count();
    events+=q.size(); q.clear(); off=(off+1)%D;
    for(int j=0;j<NE;j++) ge[j]*=0.6;
  }
  double sec=std::chrono::duration<double>(std::chrono::steady_clock::now()-t0).count();
  printf("sorted=%d events/sample=%.0f total ns/event=%.2f loop ns/event=%.2f\n", sorted, events/20.0, sec/events*1e9, tev/events*1e9);
}
