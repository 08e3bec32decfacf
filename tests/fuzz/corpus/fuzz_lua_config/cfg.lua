return { gru = { hidden = 64, lr = 0.001 } }
