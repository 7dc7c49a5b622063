import { mount } from 'svelte';
import '../ui/ui.css';
import Popup from './Popup.svelte';

mount(Popup, { target: document.body });
