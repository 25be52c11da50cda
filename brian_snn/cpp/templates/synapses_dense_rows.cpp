{# brian_snn (issue 28): Brian2's synapses template for a pure transmission 'target_post += w'
   over all-to-all synapses stored row by row (synapse k: source k / N_post, target k % N_post,
   checked in the binary whenever the number of synapses changes).  With one delay for all
   synapses, each spike puts its whole row into the queue, in index order; such a row is added
   in one loop over the targets (GCC vectorises it), which gives every target the same additions
   in the same order as Brian2's event loop (row after row).  A part of the queue that is not a
   whole row (heterogeneous delays, other structures) runs Brian2's loop, from there on. #}
{# USES_VARIABLES { _synaptic_pre } #}
{% extends 'synapses.cpp' %}
{% import 'brian_snn_rows.cpp' as rows %}

{% block maincode %}
    // brian_snn: whole rows added in one loop each (issue 28)
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}
    const size_t _brian_snn_nsyn = {{_dynamic__synaptic_pre}}.size();
    {{ rows.is_row_major(brian_snn_dense, '_brian_snn_nsyn')|autoindent }}
    std::vector<int> *_spiking_synapses = {{pathway.name}}.peek();
    const size_t _num_spiking_synapses = _spiking_synapses->size();
    const int* _brian_snn_queue = _num_spiking_synapses ? &(*_spiking_synapses)[0] : 0;
    size_t _spiking_synapse_idx = 0;
    while(_brian_snn_rows && _spiking_synapse_idx + _brian_snn_npost <= _num_spiking_synapses)
    {
        const int* __restrict _row = _brian_snn_queue + _spiking_synapse_idx;
        const size_t _first = (size_t)_row[0];
        int _other = (int)(_first % _brian_snn_npost);
        for(size_t _j=0; _j<_brian_snn_npost; _j++)
            _other |= _row[_j] - (int)(_first + _j);
        if(_other)
            break;                                    // not a whole row: Brian2's loop from here
        auto* __restrict _target = {{brian_snn_dense.target}};
        const auto* __restrict _weight = {{brian_snn_dense.weight}} + _first;
        for(size_t _j=0; _j<_brian_snn_npost; _j++)
            _target[_j] += _weight[_j];
        _spiking_synapse_idx += _brian_snn_npost;
    }
    for(; _spiking_synapse_idx<_num_spiking_synapses; _spiking_synapse_idx++)
    {
        const size_t _idx = _brian_snn_queue[_spiking_synapse_idx];
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
    }
{% endblock %}
