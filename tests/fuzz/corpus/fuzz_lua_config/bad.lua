return { gru = { hidden = 64,
  lr = }
