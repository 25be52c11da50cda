{# brian_snn (issue 28): macros of the two-pass templates (threshold_two_pass, threshold_guarded's
   prefilter).  condition_buffer() declares a byte per neuron, padded to a multiple of eight with
   zeros; the caller's first loop (vectorisable: it stores only the buffer) fills it.  Then
   for_each_set() runs the caller's body, with _idx, for every neuron whose byte is set, in index
   order, testing eight neurons at a time with one 64-bit load. #}
{% macro condition_buffer() %}
static std::vector<char> _brian_snn_conds;
const size_t _brian_snn_padded = ((size_t)N + 7) / 8 * 8;
if(_brian_snn_conds.size() != _brian_snn_padded)
    _brian_snn_conds.assign(_brian_snn_padded, 0);      // the padding stays 0
char* __restrict _brian_snn_c = _brian_snn_conds.data();
{% endmacro %}

{% macro for_each_set() %}
for(size_t _word=0; _word<_brian_snn_padded; _word+=8)
{
    uint64_t _eight;
    std::memcpy(&_eight, _brian_snn_c + _word, 8);
    if(!_eight)
        continue;
    for(size_t _idx=_word; _idx<_word+8; _idx++)
    {
        if(!_brian_snn_c[_idx])
            continue;
        {{ caller() }}
    }
}
{% endmacro %}

{% macro headers() %}
#include<cstring>
#include<vector>
{% endmacro %}
